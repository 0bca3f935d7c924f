"""Scheduled offboardings as the Activity page lists them: the jobs in words, and why one could
not be cancelled. Plain functions over `m365.scheduled_jobs()`; no widgets, no HTML."""
from __future__ import annotations

import pandas as pd

# services.schedules statuses as the page names them.
STATUS_WORDS = {"scheduled": "Waiting", "running": "Running now", "done": "Done",
                "failed": "Failed", "nothing_to_change": "Nothing to change",
                "cancelled": "Cancelled"}

# What the page shows, in order; `id` and `can_cancel` are for the view's Cancel column.
SCHEDULE_COLUMNS = ["user", "tenant", "options", "at", "scheduled_by", "status", "outcome", "late",
                    "can_cancel", "id"]


def when_text(value) -> str:
    """A UTC time as the page shows it: "2026-12-01 17:00 UTC"; "" when there is none."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def who(job) -> str:
    """"Jane Doe (jane@contoso.com)", or the sign-in name alone when there is no other name."""
    upn, name = str(job.get("user") or ""), str(job.get("display_name") or "")
    return f"{name} ({upn})" if name and name != upn else upn or name or "this user"


def _outcome(job) -> str:
    outcome = str(job.get("outcome") or "")
    if not outcome and job.get("status") == "scheduled":
        return "runs at its time"
    return outcome


def late_text(note: str) -> str:
    """The Late column: "ran 3 h 5 min late" (the why stays in the outcome, which has room)."""
    return note.split(":", 1)[0].strip() if note else ""


def schedule_rows(jobs: pd.DataFrame, may_cancel: bool) -> pd.DataFrame:
    """`m365.scheduled_jobs()` as the page lists it: SCHEDULE_COLUMNS, in words.

    `can_cancel` is True for the jobs still waiting, and only when the viewer's role may
    cancel them (`may_cancel`)."""
    rows = []
    for job in jobs.to_dict("records"):
        upn, name = str(job.get("user") or ""), str(job.get("display_name") or "")
        rows.append({
            "user": f"{name}\n{upn}" if name and name != upn else upn,
            "tenant": job.get("tenant") or job.get("tenant_id"),
            "options": job.get("options") or "",
            "at": when_text(job.get("at")),
            "scheduled_by": job.get("scheduled_by") or "",
            "status": STATUS_WORDS.get(job.get("status"), str(job.get("status") or "")),
            "outcome": _outcome(job),
            "late": late_text(str(job.get("late") or "")),
            "can_cancel": bool(may_cancel and job.get("cancellable")),
            "id": int(job["id"]),
        })
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def why_not_cancellable(job) -> str:
    """Why a job that is not waiting any more cannot be cancelled, in the page's words;
    `job` is its current row of `m365.scheduled_jobs()`, None when it is gone."""
    if job is None:
        return "it is no longer in the list of scheduled offboardings"
    status = job.get("status")
    if status == "running":
        since = when_text(job.get("ran_at"))
        return (f"it started{' at ' + since if since else ''} and is running now; its outcome "
                "appears here when it ends")
    if status == "cancelled":
        return f"it was already cancelled ({job.get('outcome') or 'no reason recorded'})"
    ended = when_text(job.get("finished"))
    outcome = _outcome(job)
    return (f"it already ran{' at ' + ended if ended else ''}: "
            f"{STATUS_WORDS.get(status, status)}" + (f" ({outcome})" if outcome else ""))
