"""`m365dash schedules run|list|cancel`: scheduled offboardings from cron or a systemd timer.

`m365dash serve` runs due jobs itself every 30 seconds; `schedules run` is for machines where no
dashboard runs, or as a second runner: any number of them may share a store (docs/SCHEDULES.md).
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    schedules = subparsers.add_parser("schedules", help="scheduled offboardings: run due ones, "
                                                        "list, cancel")
    sub = schedules.add_subparsers(dest="schedules_command", metavar="ACTION", required=True)
    p = sub.add_parser("run", help="run every job whose time has come, once (for cron/systemd)")
    _common(p)
    p.set_defaults(func=run_due)
    p = sub.add_parser("list", help="list scheduled jobs and their outcomes")
    _common(p)
    p.add_argument("--tenant", help="only this tenant (id, domain or name)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run_list)
    p = sub.add_parser("cancel", help="cancel a job that has not started (admins)")
    p.add_argument("job_id", help="the job's id, as `schedules list` shows it")
    _common(p)
    p.set_defaults(func=run_cancel)


def _common(p) -> None:
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")


def _connect(args):
    from services import connect
    return connect(args.config)


def run_due(args) -> int:
    from services.schedules import run_due as run
    with _connect(args) as m365:
        ran = run(m365)
    if ran.empty:
        print("no scheduled jobs due")
        return 0
    for job in ran.itertuples():
        print(f"job {job.id} ({job.user}): {job.status}: {job.outcome}")
    return 1 if (ran["status"] == "failed").any() else 0


def run_list(args) -> int:
    with _connect(args) as m365:
        jobs = m365.scheduled_jobs(args.tenant)
    if args.format == "csv":
        jobs.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(jobs.to_json(orient="records", date_format="iso", indent=2))
    elif jobs.empty:
        print("no scheduled jobs")
    else:
        shown = jobs[["id", "tenant", "user", "options", "at", "scheduled_by", "status", "outcome"]]
        print(shown.to_string(index=False))
    return 0


def run_cancel(args) -> int:
    from services.schedules import ScheduleError
    with _connect(args) as m365:
        try:
            job = m365.cancel_scheduled(args.job_id)
        except ScheduleError as exc:
            print(f"m365dash: {exc}", file=sys.stderr)
            return 1
    print(f"job {job['id']} ({job['user']} at {job['at']:%Y-%m-%d %H:%M} UTC): {job['outcome']}")
    return 0
