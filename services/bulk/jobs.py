"""Starting, resuming and reporting bulk jobs; role checks and the audit log live here.

Onboarding runs in batched phases (`runner.py`). Offboarding and updates run row by row, several
users at once, through the same workflows the dashboard uses; each row is one journal step. A
job's first run applies the plans its validation built (see `PLAN_REUSE_SECONDS`); a resumed row is planned again against
current state, so it does only what is still missing.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import asdict

import pandas as pd

from .. import audit
from ..errors import PermissionDenied
from ..workflows.offboarding import OPTIONS as OFFBOARD_OPTIONS
from .journal import Journal
from .parallel import run_side_by_side
from .results import RESULT_COLUMNS, BulkResult, PasswordFile
from .runner import OnboardRunner, Progress

log = logging.getLogger(__name__)


def _journal(m365) -> Journal:
    return m365.bulk_journal


def _audit(m365, action: str, outcome: str, tenant_id: str = "", detail: dict | None = None) -> None:
    audit.record(m365.store.engine, actor=m365.actor.name, role=m365.actor.role, action=action,
                 outcome=outcome, tenant_id=tenant_id, detail=detail)


def _require_bulk(m365, action: str, detail: dict) -> None:
    """Bulk jobs are for admins; a refusal is audited before it is raised."""
    try:
        m365.actor.require("bulk")
    except PermissionDenied:
        _audit(m365, action, "denied", detail=detail)
        raise


def start_job(plan, *, progress=True, on_progress=None, passwords_file=None) -> BulkResult:
    m365 = plan.m365
    detail = {"kind": plan.kind, "source": plan.source_name, "rows": len(plan.rows),
              "steps": len(plan._steps), "skipped_invalid_rows": len({p.row for p in plan.problems})}
    _require_bulk(m365, f"bulk_{plan.kind}", detail)
    payload = [asdict(r) if hasattr(r, "__dataclass_fields__") else dict(r) for r in plan.rows]
    job_id = _journal(m365).create_job(plan.kind, m365.actor, plan.source_name, payload, plan._steps)
    return run_job(m365, job_id, progress=progress, on_progress=on_progress,
                   passwords_file=passwords_file, typed_passwords=plan._typed, labels=plan._labels,
                   row_plans=plan.take_row_plans())


def resume_job(m365, job_id: str, *, progress=True, on_progress=None, passwords_file=None) -> BulkResult:
    journal = _journal(m365)
    job = journal.job(job_id)
    _require_bulk(m365, f"bulk_{job.kind}_resume", {"job_id": job_id})
    return run_job(m365, job_id, progress=progress, on_progress=on_progress,
                   passwords_file=passwords_file, typed_passwords={}, labels={})


def run_job(m365, job_id: str, *, progress, on_progress, passwords_file, typed_passwords,
            labels, row_plans: dict | None = None) -> BulkResult:
    journal = _journal(m365)
    job = journal.job(job_id)
    steps = journal.steps(job_id)
    pending = int(steps["status"].isin(["pending", "failed"]).sum())
    bar = Progress(pending, progress, on_progress)
    sink = PasswordFile(passwords_file)
    journal.set_status(job_id, "running")
    try:
        if job.kind == "onboard":
            OnboardRunner(m365, journal, job_id, job.rows, bar, sink).run(typed_passwords)
        else:
            _run_rows(m365, journal, job_id, job.kind, job.rows, bar, sink, row_plans or {})
    finally:
        bar.close()
        final = journal.steps(job_id)
        status = "finished" if not final["status"].isin(["pending"]).any() else "interrupted"
        journal.set_status(job_id, status)
        tenants = sorted(set(final["tenant_id"]))
        failed, done = (final["status"] == "failed").any(), (final["status"] == "done").any()
        outcome = ("partial" if done else "failed") if failed else "done"
        _audit(m365, f"bulk_{job.kind}", outcome, ";".join(tenants),
               {"job_id": job_id, **final["status"].value_counts().to_dict()})
        for tenant_id in tenants:
            _refresh(m365, tenant_id)
    return BulkResult(job_id, job.kind, results_frame(final, labels), passwords=sink.kept)


def _refresh(m365, tenant_id: str) -> None:
    try:
        m365.sync_tenant(tenant_id)
    except Exception as exc:  # noqa: BLE001 - the job's outcome stands; the next sync catches up
        log.warning("store refresh after bulk job failed for tenant %s: %s", tenant_id, exc)


# Offboarding and update rows in flight at once. Each row is a few dependent Graph calls, so
# one row at a time spends most of its time waiting (2-3 s a row when Graph throttles);
# rows for different users are independent.
ROW_WORKERS = 8


def _run_rows(m365, journal: Journal, job_id: str, kind: str, rows: list[dict], bar, sink,
              row_plans: dict) -> None:
    """Apply each pending row. `row_plans` (row -> validated plan) is used once per row; a row
    without one (a resumed job, a stale plan) is planned again against current state.

    Rows run ROW_WORKERS at a time; the rows of one user stay in file order in one worker, since
    a later row may depend on an earlier one's change."""
    by_row = {r["row"]: r for r in rows}
    steps = journal.steps(job_id)
    per_user: dict[tuple[str, str], list] = {}
    for rec in steps[steps["status"].isin(["pending", "failed"])].itertuples():
        row = by_row[rec.row]
        key = (str(row.get("tenant", "")).strip().lower(), str(row.get("user", "")).strip().lower())
        per_user.setdefault(key, []).append(rec)
    lock = threading.Lock()

    def locked_sink(upn: str, password: str) -> None:
        with lock:
            sink(upn, password)

    def run_user(recs) -> None:
        for rec in recs:
            _run_row(m365, journal, job_id, kind, by_row[rec.row], rec, locked_sink,
                     row_plans.pop(rec.row, None))
            with lock:
                bar.advance(1)

    # An interrupted job (Ctrl-C, a crash) starts no new user: their rows stay pending for resume.
    tasks = [(tenant, lambda recs=recs: run_user(recs)) for (tenant, _), recs in per_user.items()]
    run_side_by_side(tasks, workers=ROW_WORKERS, per_tenant=ROW_WORKERS, name="m365-bulk-row")


def _run_row(m365, journal: Journal, job_id: str, kind: str, row: dict, rec, sink, plan) -> None:
    try:
        plan = plan or row_plan(m365, kind, row)
        if plan.problems:
            reasons = "; ".join(f"{p.field}: {p.message}" for p in plan.problems)
            # A resumed row whose work is already complete plans "nothing to change".
            status = "skipped" if "nothing" in reasons.lower() else "failed"
            journal.record(job_id, [(rec.seq, status, reasons, None)])
        else:
            result = plan.apply(refresh_store=False)   # run_job syncs each tenant at the end
            if result.password:
                sink(rec.user, result.password)
            failed = result.steps[result.steps["status"] == "failed"]
            error = "; ".join(f"{s.action} {s.target}: {s.error}" for s in failed.itertuples()) or None
            journal.record(job_id, [(rec.seq, "failed" if error else "done", error, result.user_id)])
    except Exception as exc:  # noqa: BLE001 - one row's failure is recorded, the job goes on
        journal.record(job_id, [(rec.seq, "failed", str(exc), None)])


def row_plan(m365, kind: str, row: dict):
    if kind == "offboard":
        # The Exchange people and address columns are text; the other options yes/no.
        text = {"mailbox_access", "send_as", "forward_to"}
        return m365.plan_offboarding(row["tenant"], row["user"], at=row.get("at") or None, **{
            k: bool(row.get(k)) for k in OFFBOARD_OPTIONS if k != "auto_reply" and k not in text},
            **{k: row.get(k) or None for k in text},
            automapping=row.get("automapping") is not False,
            keep_copy=row.get("keep_copy") is not False, auto_reply=_auto_reply(row))
    changes = {k: v for k, v in row.items() if k in UPDATE_CHANGE_FIELDS and v not in ("", None)}
    return m365.plan_edit(row["tenant"], row["user"], changes=changes,
                          **{k: row.get(k) or [] for k in ("add_licenses", "remove_licenses", "add_groups",
                                                           "remove_groups", "add_roles", "remove_roles")})


def _auto_reply(row: dict) -> dict | None:
    """An offboarding row's Auto Reply columns; an empty Auto Reply cell means none."""
    if not str(row.get("auto_reply") or "").strip():
        return None
    spec = {"message": row["auto_reply"], "external_message": row.get("auto_reply_external"),
            "audience": row.get("auto_reply_audience"), "start": row.get("auto_reply_start"),
            "end": row.get("auto_reply_end")}
    return {k: v for k, v in spec.items() if v not in (None, "")}


UPDATE_CHANGE_FIELDS = {"given_name", "surname", "display_name", "job_title", "department",
                        "company_name",
                        "office_location", "business_phone", "mobile_phone", "usage_location",
                        "manager", "account_enabled", "fax", "street_address", "city", "state",
                        "postal_code", "country"}


def results_frame(steps: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame({
        "row": steps["row"], "user": steps["user"], "step": steps["step"],
        "target": [";".join(labels.get(t, t) for t in str(v).split(";")) for v in steps["target"]],
        "outcome": steps["status"], "error": steps["error"].fillna("")})
    return out[RESULT_COLUMNS].reset_index(drop=True)
