"""Activity: scheduled offboardings with Cancel, the audit log (filterable, exportable), and
deleted users with Restore."""
from __future__ import annotations

import json

import pandas as pd
import param

from services.errors import PermissionDenied
from services.exports import to_csv
from services.schedules import ScheduleError, option_words

from .base import PlanViewModel, error_text
from .schedules import (SCHEDULE_COLUMNS, STATUS_WORDS, schedule_rows, when_text, who,
                        why_not_cancellable)
from .users import ALL, tenant_choices

LOG_COLUMNS = ["time", "actor", "role", "tenant", "user", "action", "outcome", "detail"]
DELETED_COLUMNS = ["tenant", "display_name", "user_principal_name", "deleted", "days_left",
                   "restorable", "tenant_id", "id"]


def _detail_text(detail) -> str:
    """The per-step outcome in one readable line (the full JSON goes to the export)."""
    if not isinstance(detail, dict):
        return str(detail or "")
    scheduled = _schedule_text(detail)
    if scheduled:
        return scheduled
    if "sku_part_number" in detail and "monthly_price" in detail:      # license_price
        was = detail.get("before")
        return (f"{detail['sku_part_number']}: ${float(detail['monthly_price']):,.2f} a month "
                f"per seat" + (f" (was ${float(was):,.2f})" if was is not None else ""))
    steps = detail.get("steps") or []
    if steps:
        return "; ".join(f"{s.get('action')} {s.get('target')}: {s.get('status')}"
                         + (f" ({s.get('error')})" if s.get("error") else "") for s in steps)
    return json.dumps(detail, default=str, sort_keys=True)[:300]


def _schedule_text(detail: dict) -> str:
    """A scheduled offboarding's entry (scheduled, ran, cancelled) in words; "" for others."""
    if "job_id" not in detail:
        return ""
    parameters = detail.get("parameters") or {}
    if parameters.get("at"):                                   # schedule_offboarding
        return (f"scheduled for {when_text(parameters['at'])}: "
                f"{option_words(parameters)}")
    if "status" in detail:                                     # scheduled_offboarding (the run)
        status = STATUS_WORDS.get(detail["status"], str(detail["status"]))
        return f"{status}: {detail.get('outcome') or ''}".rstrip(": ")
    if detail.get("at"):                                       # cancel_scheduled
        return f"cancelled the offboarding scheduled for {when_text(detail['at'])}"
    return ""


class ActivityViewModel(PlanViewModel):
    """State and actions of the Activity page."""

    tenant = param.Selector(default=ALL, objects={"All tenants": ALL}, check_on_set=False,
                            doc="Tenant id whose entries are listed; '' for all.")
    action = param.String(default="", doc="Only entries of this action (onboard, edit, ...); '' all.")
    outcome = param.String(default="", doc="Only entries with this outcome (done, partial, "
                                           "failed, denied); '' all.")
    search = param.String(default="", doc="Text matched against actor and user.")
    entries = param.DataFrame(default=pd.DataFrame(columns=LOG_COLUMNS), doc="The filtered audit "
                          "log, newest first.")
    deleted = param.DataFrame(default=pd.DataFrame(columns=DELETED_COLUMNS), doc="Deleted users "
                              "of the tenants in scope, with the days left to restore them.")
    restored = param.Event(doc="Fires after a restore (the app refreshes user rows).")
    scheduled = param.DataFrame(default=pd.DataFrame(columns=SCHEDULE_COLUMNS), doc="Scheduled "
                                "offboardings of the tenants in scope, latest time first, in "
                                "words (viewmodels.schedules.SCHEDULE_COLUMNS); can_cancel is "
                                "True where this viewer may cancel the job now.")
    cancel_question = param.String(default="", doc="What confirming the pending cancellation "
                                   "stops, e.g. 'Cancel the offboarding of Jane Doe "
                                   "(jane@contoso.com) at 2026-12-01 17:00 UTC?'; empty when "
                                   "none is pending.")
    cancel_job = param.Integer(default=None, allow_None=True, doc="Id of the scheduled job the "
                               "pending cancellation is for; None when none is pending.")

    def refresh(self, deleted: bool = True) -> None:
        tenants = self.m365.tenants()
        self.param.tenant.objects = tenant_choices(tenants)
        self._names = dict(zip(tenants["tenant_id"].astype(str), tenants["display_name"].astype(str)))
        self._load_log()
        self.load_scheduled()
        if deleted:
            self.load_deleted()

    def _name(self, tenant_id: str) -> str:
        return ";".join(self._names.get(t, t) for t in str(tenant_id).split(";") if t)

    @param.depends("tenant", "action", "outcome", "search", watch=True)
    def _load_log(self) -> None:
        df = self.m365.audit_log(tenant=self.tenant or None, action=self.action or None,
                                 outcome=self.outcome or None)
        if self.search.strip():
            text = self.search.strip().lower()
            mask = (df["actor"].astype(str).str.lower().str.contains(text, regex=False)
                    | df["user"].astype(str).str.lower().str.contains(text, regex=False))
            df = df[mask]
        self._raw = df
        out = df.assign(tenant=[self._name(t) for t in df["tenant_id"]],
                        detail=[_detail_text(d) for d in df["detail"]])
        # UTC ISO text: the page shows it in the viewer's time zone, the CSV keeps it exact.
        out["time"] = [pd.Timestamp(t).tz_localize("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
                       if pd.notna(t) and pd.Timestamp(t).tzinfo is None else
                       pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
                       if pd.notna(t) else "" for t in out["time"]]
        self.entries = out[LOG_COLUMNS].reset_index(drop=True)

    def actions(self) -> list[str]:
        return ["", "onboard", "edit", "offboard", "delete", "restore", "bulk_onboard",
                "bulk_offboard", "bulk_update", "sync_settings", "schedule_offboarding",
                "scheduled_offboarding", "cancel_scheduled", "license_price"]

    def export_csv(self) -> str:
        """The filtered entries with their full detail as JSON, formula-safe."""
        raw = self._raw.assign(detail=[json.dumps(d, default=str, sort_keys=True) for d in self._raw["detail"]])
        # The tenant's name beside its id (a bulk job's several tenants, each named).
        names = ["; ".join(self._name(t) for t in str(tid or "").split(";") if t)
                 for tid in raw["tenant_id"]]
        raw.insert(raw.columns.get_loc("tenant_id") + 1, "tenant_name", names)
        return to_csv(raw)

    def load_deleted(self) -> None:
        """Deleted users, read live from Graph (the store does not keep them)."""
        try:
            df = self.m365.deleted_users(self.tenant or None)
        except Exception as exc:  # noqa: BLE001 - the audit log still shows; say what is missing
            self.alert("warning", f"Deleted users could not be read: {error_text(exc)}")
            return
        # The time as text, like the other tables of the page (and no time-zone-aware column
        # for the table to convert).
        df = df.assign(tenant=[self._name(t) for t in df["tenant_id"]],
                       deleted=[when_text(t) for t in df["deleted"]])
        self.deleted = df[DELETED_COLUMNS].reset_index(drop=True)

    async def restore(self, iloc: int) -> bool:
        """Plan restoring the deleted user at row `iloc`; shows the steps for confirmation."""
        row = self.deleted.iloc[iloc]
        if not bool(row["restorable"]):
            self.alert("warning", f"{row['user_principal_name']} was deleted more than 30 days ago "
                                  "and cannot be restored.")
            return False
        if not self.may("restore"):
            self.alert("warning", "Your role may not restore users.")
            return False
        plan = await self.plan_task("Planning the restore", self.m365.plan_restore,
                                    row["tenant_id"], row["id"])
        if plan is None:
            return False
        return self.propose(plan, f"Restore {row['user_principal_name']}", self._after_restore)

    def _after_restore(self, result) -> None:
        self.restored = True
        self.refresh()

    @param.depends("tenant", watch=True)
    def load_scheduled(self) -> None:
        """The scheduled offboardings of the tenants in scope, from the store."""
        try:
            jobs = self.m365.scheduled_jobs(self.tenant or None)
        except Exception as exc:  # noqa: BLE001 - the rest of the page shows; say what is missing
            self.alert("warning", f"Scheduled offboardings could not be read: {error_text(exc)}")
            return
        self.scheduled = schedule_rows(jobs, may_cancel=self.may("offboard"))

    def _job(self, job_id: int) -> dict | None:
        """The job's current row of scheduled_jobs() (fresh from the store), None when gone."""
        jobs = self.m365.scheduled_jobs()
        match = jobs[jobs["id"] == int(job_id)]
        return match.iloc[0].to_dict() if len(match) else None

    def ask_cancel(self, iloc: int) -> bool:
        """Ask to confirm cancelling the scheduled offboarding at row `iloc` of `scheduled`."""
        job_id = int(self.scheduled.iloc[iloc]["id"])
        job = self._job(job_id)
        name = who(job) if job else str(self.scheduled.iloc[iloc]["user"]).replace("\n", " ")
        if not self.may("offboard"):
            self.alert("warning", f"The offboarding of {name} was not cancelled: your role may "
                                  "not cancel scheduled offboardings (admins can).")
            return False
        if job is None or not job["cancellable"]:
            self.alert("warning", f"The offboarding of {name} cannot be cancelled: "
                                  f"{why_not_cancellable(job)}.")
            self.load_scheduled()
            return False
        self.param.update(cancel_job=job_id, cancel_question=(
            f"Cancel the offboarding of {name} at {when_text(job['at'])}? "
            f"It would: {job['options']}. Nothing has been changed yet, and nothing will be."))
        return True

    def keep_scheduled(self) -> None:
        """Drop the pending cancellation: the job stays scheduled."""
        self.param.update(cancel_job=None, cancel_question="")

    def confirm_cancel(self) -> bool:
        """Cancel the job the pending question is about; the outcome becomes an alert naming
        the user, and the list is read again."""
        job_id = self.cancel_job
        if job_id is None:
            return False
        self.keep_scheduled()
        job = self._job(job_id)
        name = who(job) if job else "this user"
        when = when_text(job["at"]) if job else ""
        try:
            self.m365.cancel_scheduled(job_id)
        except PermissionDenied:
            self.alert("danger", f"The offboarding of {name} was not cancelled: your role may "
                                 "not cancel scheduled offboardings (admins can).")
            self._load_log()        # the refusal is audited
            return False
        except ScheduleError:
            self.alert("danger", f"The offboarding of {name} was not cancelled: "
                                 f"{why_not_cancellable(self._job(job_id))}.")
            self.load_scheduled()
            return False
        self.alerts = [a for a in self.alerts if a.kind != "danger"]
        self.alert("success", f"Cancelled the offboarding of {name}"
                              + (f" scheduled for {when}" if when else "")
                              + ": nothing will be changed.")
        self.load_scheduled()
        self._load_log()            # the cancellation is audited
        return True
