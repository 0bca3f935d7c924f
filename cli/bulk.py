"""`m365dash bulk onboard|offboard|update FILE.csv`, `bulk resume JOB_ID`, `bulk status [JOB_ID]`."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    bulk = subparsers.add_parser("bulk", help="bulk changes from a CSV file, with a journal")
    sub = bulk.add_subparsers(dest="bulk_command", metavar="ACTION", required=True)
    for kind, text in (("onboard", "create users (admin center template columns accepted)"),
                       ("offboard", "offboard users: Tenant, User and one column per option"),
                       ("update", "change users: Tenant, User and the columns to change")):
        p = sub.add_parser(kind, help=text)
        p.add_argument("file", help="CSV file (comma or semicolon separated, UTF-8)")
        _common(p)
        p.add_argument("--dry-run", action="store_true", help="validate and print the plan; change nothing")
        p.add_argument("--skip-invalid", action="store_true",
                       help="apply the valid rows even when other rows have problems")
        p.add_argument("--passwords-file", metavar="FILE",
                       help="write generated passwords here (created mode 0600); nowhere else")
        p.add_argument("--results", metavar="FILE", help="write the results CSV here")
        p.set_defaults(func=run_bulk, kind=kind)
    p = sub.add_parser("resume", help="finish an interrupted job: only what is missing runs")
    p.add_argument("job_id")
    _common(p)
    p.add_argument("--passwords-file", metavar="FILE")
    p.add_argument("--results", metavar="FILE")
    p.set_defaults(func=run_resume)
    p = sub.add_parser("status", help="show a job's steps (or recent jobs without an id)")
    p.add_argument("job_id", nargs="?")
    _common(p)
    p.set_defaults(func=run_status)


def _common(p) -> None:
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _connect(args):
    from services import connect
    return connect(args.config)


def _report(result, args) -> int:
    counts = result.counts
    print(f"job {result.job_id}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    failed = result.failed()
    if len(failed):
        print("failed steps:")
        print(failed.to_string(index=False))
    if args.results:
        result.to_csv(args.results)
        print(f"results written to {args.results}")
    if result.passwords and not getattr(args, "passwords_file", None):
        print(f"{len(result.passwords)} users got generated passwords that were not saved; "
              "use --passwords-file next time or reset their passwords", file=sys.stderr)
    if not result.ok:
        print(f"resume with: m365dash bulk resume {result.job_id}", file=sys.stderr)
    return 0 if result.ok else 1


def run_bulk(args) -> int:
    from services.bulk import BulkProblems   # pandas: loaded only when a job runs

    m365 = _connect(args)
    try:
        plan = getattr(m365, f"bulk_{args.kind}")(args.file)
    except FileNotFoundError as exc:
        print(f"m365dash: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:      # a folder, an unreadable file: say which, without a traceback
        print(f"m365dash: cannot read bulk file {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if plan.problems:
        print(f"{len(plan.problems)} problems:", file=sys.stderr)
        for problem in sorted(plan.problems, key=lambda p: p.row):
            print(f"  {problem}", file=sys.stderr)
    print(plan)
    if args.dry_run:
        print(plan.steps.to_string(index=False) if len(plan.steps) else "(no steps)")
        return 1 if plan.problems else 0
    if plan.problems and not args.skip_invalid:
        print("nothing applied: fix the rows above, or use --skip-invalid", file=sys.stderr)
        return 1
    try:
        result = plan.apply(skip_invalid=args.skip_invalid, progress=not args.no_progress,
                            passwords_file=args.passwords_file)
    except BulkProblems as exc:
        print(str(exc), file=sys.stderr)
        return 1
    code = _report(result, args)
    return 1 if plan.problems and code == 0 else code


def run_resume(args) -> int:
    m365 = _connect(args)
    try:
        result = m365.bulk_resume(args.job_id, progress=not args.no_progress,
                                  passwords_file=args.passwords_file)
    except KeyError as exc:
        print(f"m365dash: {exc.args[0]}", file=sys.stderr)
        return 2
    return _report(result, args)


def run_status(args) -> int:
    m365 = _connect(args)
    if not args.job_id:
        jobs = m365.bulk_jobs()
        print(jobs.to_string(index=False) if len(jobs) else "no bulk jobs yet")
        return 0
    try:
        steps = m365.bulk_status(args.job_id)
    except KeyError as exc:
        print(f"m365dash: {exc.args[0]}", file=sys.stderr)
        return 2
    print(steps.to_string(index=False))
    print(steps["status"].value_counts().to_string())
    return 0
