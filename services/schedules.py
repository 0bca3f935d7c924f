"""Scheduled offboardings: run the due ones exactly once, list them, cancel them.

`m365.plan_offboarding(..., at=...).apply()` stores a job (services.workflows.scheduled).
`run_due(m365)` runs every job whose time has come: `m365dash serve` calls it every
BACKGROUND_SECONDS (`start_background`), `m365dash schedules run` once (cron, systemd timers).
Several processes may call it at once against one store.

Exactly once:
- Claiming is atomic (services.store.schedules.claim: `FOR UPDATE SKIP LOCKED` on PostgreSQL, a
  compare-and-set UPDATE on SQLite), so one runner moves a job from "scheduled" to "running".
- The job is planned again with its options against current Graph and applied as the person who
  scheduled it; every step checks Graph before it writes. Each finished step is recorded on the
  job (`progress`) as soon as it is known, like the bulk journal's steps.
- A running job holds a lease that a heartbeat thread renews. When its process dies the lease
  runs out and the next run takes the job over: it plans again (what is already done plans no
  step) and skips the steps the progress says were done, so a step that always writes (revoke
  sessions, reset password) is not sent twice. Only the one step in flight at the moment of the
  crash can be sent again, and only when it is one of those.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd

from .actors import Actor
from .errors import M365DashError
from .store import schedules as store
from .workflows import offboarding as _offboarding

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)          # a running job nobody renewed for this long is taken over
HEARTBEAT_SECONDS = 30.0
LATE_AFTER = timedelta(minutes=5)     # a later start says it ran late (cron runs every minute)
BACKGROUND_SECONDS = 30.0
FINISHED = ("done", "failed", "nothing_to_change", "cancelled")
COLUMNS = ["id", "tenant_id", "tenant", "user", "display_name", "options", "at", "scheduled_by",
           "created", "status", "outcome", "ran_at", "finished", "late", "cancellable"]
RUN_COLUMNS = ["id", "tenant_id", "user", "status", "outcome", "late"]


class ScheduleError(M365DashError, ValueError):
    """A scheduled job that does not exist or cannot be cancelled; the message says why."""


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def duration(seconds: float) -> str:
    """"2 d 3 h", "1 h 5 min", "4 min", "40 s"."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def late_note(late_seconds: int | None) -> str:
    if late_seconds is None or late_seconds <= LATE_AFTER.total_seconds():
        return ""
    return (f"ran {duration(late_seconds)} late: nothing ran the schedules at its time "
            "(m365dash serve stopped, or no `m365dash schedules run` timer)")


def option_words(options: dict) -> str:
    labels = _offboarding.OPTION_LABELS
    chosen = [labels.get(k, k.replace("_", " ")) for k in _offboarding.OPTIONS if options.get(k)]
    return ", ".join(chosen) or "(none)"


class _Clock:
    """UTC now, or a pretend now (tests) that moves on with real time."""

    def __init__(self, now: datetime | None):
        real = datetime.now(timezone.utc)
        self._offset = (_utc(now) - real) if now is not None else timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


class _Heartbeat(threading.Thread):
    """Renews a running job's lease until stopped, so no other runner takes it over."""

    def __init__(self, engine, job_id: int, runner: str, clock: _Clock):
        super().__init__(name=f"m365-schedule-{job_id}", daemon=True)
        self.engine, self.job_id, self.runner, self.clock = engine, job_id, runner, clock
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_SECONDS):
            try:
                if not store.renew_lease(self.engine, self.job_id, self.runner, self.clock() + LEASE):
                    log.warning("scheduled job %s: lease lost to another runner", self.job_id)
                    return
            except Exception as exc:  # noqa: BLE001 - a store hiccup; the next beat tries again
                log.warning("scheduled job %s: renewing the lease failed: %s", self.job_id, exc)

    def stop(self) -> None:
        self._stop_event.set()


def run_due(m365, now: datetime | None = None) -> pd.DataFrame:
    """Run every due job (and take over those whose runner died), one at a time; returns what
    this call ran: RUN_COLUMNS. `now` pretends it is that time (tests)."""
    clock = _Clock(now)
    runner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    engine = m365.store.engine
    ran = []
    while True:
        row = store.claim(engine, now=clock(), runner=runner, lease_until=clock() + LEASE)
        if row is None:
            break
        ran.append(_run_claimed(m365, row, runner, clock))
    # The store catches up once per tenant, after all its jobs (not once per job).
    for tenant_id in dict.fromkeys(r["tenant_id"] for r in ran):
        try:
            m365.sync_tenant(tenant_id)
        except Exception as exc:  # noqa: BLE001 - the jobs' outcomes stand; the next sync catches up
            log.warning("store refresh after scheduled jobs failed for tenant %s: %s", tenant_id, exc)
    return pd.DataFrame(ran, columns=RUN_COLUMNS)


def _run_claimed(m365, job: dict, runner: str, clock: _Clock) -> dict:
    engine = m365.store.engine
    job_id, takeover = int(job["id"]), job["status"] == store.RUNNING
    started = _utc(job["ran_at"]) or clock()
    late_seconds = max(0, int((started - _utc(job["at"])).total_seconds()))
    heartbeat = _Heartbeat(engine, job_id, runner, clock)
    heartbeat.start()
    try:
        status, outcome = _execute(m365, job, runner, takeover)
    except Exception as exc:  # noqa: BLE001 - recorded as this job's failure; the others go on
        log.exception("scheduled job %s failed", job_id)
        status, outcome = "failed", f"failed: {type(exc).__name__}: {exc}"
    finally:
        heartbeat.stop()
    if takeover:
        outcome += f" (taken over after an interrupted run by {job['runner']})"
    note = late_note(late_seconds)
    if note:
        outcome += f"; {note}"
    if not store.finish(engine, job_id, runner, status=status, outcome=outcome,
                        finished=clock(), late_seconds=late_seconds):
        log.warning("scheduled job %s: another runner took it over; its outcome stands", job_id)
        outcome = "another runner took it over: " + outcome
    _audit_run(m365, job, status, outcome, runner, late_seconds)
    return {"id": job_id, "tenant_id": job["tenant_id"], "user": job["user_principal_name"],
            "status": status, "outcome": outcome, "late": note}


def _execute(m365, job: dict, runner: str, takeover: bool) -> tuple[str, str]:
    """Plan the job again against current Graph and apply it: (status, outcome)."""
    acting = m365.as_actor(Actor(job["actor"], job["role"]))
    options = json.loads(job["options"] or "{}")
    plan = acting.plan_offboarding(job["tenant_id"], job["user_id"], **options)
    plan.parameters["scheduled_job"] = int(job["id"])
    progress = json.loads(job["progress"] or "[]")
    finished = {(p["action"], p["target"]) for p in progress if p.get("status") == "done"}
    if plan.problems:
        text = "; ".join(str(p) for p in plan.problems)
        if all("nothing to change" in p.message for p in plan.problems):
            if finished:        # the interrupted run did it all before it stopped
                return "done", f"done by the interrupted run ({len(finished)} steps)"
            return "nothing_to_change", text
        return "failed", f"not applied: {text}"
    if takeover and finished:
        again = [int(r.step) for r in plan.steps.itertuples() if (r.action, r.target) in finished]
        plan.skip(again, "done by the interrupted run")

    def record(step, outcome) -> None:
        progress.append({"step": step.number, "action": step.action, "target": step.target,
                         "status": outcome.status})
        try:
            store.set_progress(m365.store.engine, int(job["id"]), runner, json.dumps(progress))
        except Exception as exc:  # noqa: BLE001 - the apply goes on; a takeover re-checks Graph
            log.warning("scheduled job %s: recording progress failed: %s", job["id"], exc)

    plan.on_step = record
    result = plan.apply(refresh_store=False)      # run_due syncs each tenant once at the end
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items()))
    if result.ok:
        return "done", f"done: {counts}"
    failed = "; ".join(f"{r.action} {r.target}: {r.error}" for r in result.failed().itertuples())
    return "failed", f"failed ({counts}): {failed}"


def _audit_run(m365, job: dict, status: str, outcome: str, runner: str, late: int) -> None:
    acting = m365.as_actor(Actor(job["actor"], job["role"]))
    acting.audit(action=f"scheduled_{job['kind']}",
                 outcome={"done": "done", "nothing_to_change": "done"}.get(status, "failed"),
                 tenant_id=job["tenant_id"], user=job["user_principal_name"],
                 detail={"job_id": int(job["id"]), "status": status, "outcome": outcome,
                         "runner": runner, "late_seconds": late,
                         "options": json.loads(job["options"] or "{}")})


def cancel(m365, job_id) -> dict:
    """Cancel a job still waiting (admins; audited); ScheduleError says why one cannot be."""
    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        raise ScheduleError(f"a scheduled job id is a number, not {job_id!r}") from None
    engine = m365.store.engine
    job = store.job_row(engine, job_id)
    if job is None:
        raise ScheduleError(f"there is no scheduled job {job_id}; m365.scheduled_jobs() (or "
                            "`m365dash schedules list`) lists them")
    m365.require_role("offboard", action="cancel_scheduled", tenant_id=job["tenant_id"],
                      user=job["user_principal_name"], detail={"job_id": job_id})
    now = datetime.now(timezone.utc)
    outcome = f"cancelled by {m365.actor.name} at {now:%Y-%m-%d %H:%M} UTC"
    if not store.cancel(engine, job_id, by=m365.actor.name, now=now, outcome=outcome):
        raise ScheduleError(_why_not_cancelled(store.job_row(engine, job_id)))
    m365.audit(action="cancel_scheduled", outcome="done", tenant_id=job["tenant_id"],
               user=job["user_principal_name"],
               detail={"job_id": job_id, "at": _utc(job["at"]).isoformat()})
    return jobs_frame(m365).set_index("id").loc[job_id].to_dict() | {"id": job_id}


def _why_not_cancelled(job: dict) -> str:
    head = f"scheduled job {job['id']} cannot be cancelled: "
    if job["status"] == store.RUNNING:
        since = _utc(job["ran_at"])
        return head + (f"it is running now (since {since:%H:%M:%S} UTC, on {job['runner']}); "
                       "its outcome appears when it ends")
    if job["status"] == store.CANCELLED:
        return head + f"it is already cancelled ({job['outcome']})"
    ended = _utc(job["finished"])
    when = f" at {ended:%Y-%m-%d %H:%M} UTC" if ended else ""
    return head + f"it already ran{when}: {job['status']}: {job['outcome']}"


def jobs_frame(m365, tenant=None) -> pd.DataFrame:
    """Every scheduled job (of a tenant), latest time first: COLUMNS."""
    ids = None if tenant is None else m365._tenant_ids(tenant)
    names = {r["tenant_id"]: r["display_name"] or r["tenant_id"]
             for r in m365.store.tenant_rows(active_only=False)}
    now = datetime.now(timezone.utc)
    rows = []
    for job in store.job_rows(m365.store.engine, ids):
        outcome, status = job["outcome"] or "", job["status"]
        lease = _utc(job["lease_until"])
        if status == store.RUNNING and lease is not None and lease < now:
            outcome = (f"interrupted: {job['runner']} stopped without finishing; the next "
                       "schedules run takes it over")
        rows.append({
            "id": int(job["id"]), "tenant_id": job["tenant_id"],
            "tenant": names.get(job["tenant_id"], job["tenant_id"]),
            "user": job["user_principal_name"],
            "display_name": job["display_name"] or job["user_principal_name"],
            "options": option_words(json.loads(job["options"] or "{}")),
            "at": _utc(job["at"]), "scheduled_by": job["actor"], "created": _utc(job["created"]),
            "status": status, "outcome": outcome, "ran_at": _utc(job["ran_at"]),
            "finished": _utc(job["finished"]), "late": late_note(job["late_seconds"]),
            "cancellable": status == store.SCHEDULED})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("at", "created", "ran_at", "finished"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({"id": "int64", "cancellable": "bool"})


class Background:
    """run_due() every `interval` seconds in a daemon thread, until stop()."""

    def __init__(self, m365, interval: float = BACKGROUND_SECONDS):
        self.m365, self.interval = m365, interval
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="m365-schedules", daemon=True)

    def start(self) -> "Background":
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            try:
                ran = run_due(self.m365)
                for r in ran.itertuples():
                    log.info("scheduled job %s (%s): %s", r.id, r.user, r.outcome)
            except Exception:  # noqa: BLE001 - the store or Graph is away; the next round retries
                log.exception("running scheduled jobs failed; trying again in %.0f s", self.interval)
            if self._stop_event.wait(self.interval):
                return

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self._thread.join(timeout)


class SchedulesMixin:
    """Methods of the `M365` object for scheduled jobs."""

    def scheduled_jobs(self, tenant=None):
        """Scheduled offboardings, latest time first: id, tenant_id, tenant, user, display_name,
        options (in words), at, scheduled_by, created (UTC), status (scheduled | running | done
        | failed | nothing_to_change | cancelled), outcome, ran_at, finished, late (a note when
        it ran late, else ""), cancellable."""
        return jobs_frame(self, tenant)

    def cancel_scheduled(self, job_id) -> dict:
        """Cancel a job that has not started (admins; audited) and return its row;
        ScheduleError when it is unknown, running, finished or already cancelled."""
        return cancel(self, job_id)

    def run_scheduled(self, now: datetime | None = None):
        """Run the due jobs now (what `m365dash schedules run` does): RUN_COLUMNS."""
        return run_due(self, now)
