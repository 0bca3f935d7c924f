"""`m365dash sync [--tenant ID]... [--full]` and `m365dash licenses [--tenant ID] [--format F]`.

Exit status: 0 success, 1 some tenant failed (the summary says which and why), 2 bad usage or
configuration (an unknown tenant, a missing or invalid config file).
"""
from __future__ import annotations

import json
import logging
import sys

from services.errors import ConfigError

REPORT_COLUMNS = ["tenant_name", "tenant_id", "sku_id", "sku_part_number", "product_name",
                  "capability_status", "enabled", "consumed", "available", "utilization"]
TABLE_COLUMNS = ["tenant_name", "sku_part_number", "product_name", "capability_status", "enabled",
                 "consumed", "available", "utilization", "out_of_seats"]


def register(subparsers) -> None:
    p = subparsers.add_parser("sync", help="sync tenants into the local store (incremental by default)")
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")
    p.add_argument("--tenant", action="append", metavar="ID",
                   help="only this tenant (id, verified domain or name); repeatable")
    p.add_argument("--full", action="store_true", help="read everything again instead of deltas")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_sync)
    p = subparsers.add_parser("licenses", help="license utilization report from the store")
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")
    p.add_argument("--tenant", metavar="ID", help="only this tenant (id, verified domain or name)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run_licenses)


def _connect(args):
    from services.api import connect
    return connect(args.config)


def _usage(message: str) -> int:
    print(f"m365dash: {message}", file=sys.stderr)
    return 2


def run_sync(args) -> int:
    sync_log = logging.getLogger("services.sync")
    level = sync_log.level
    if not getattr(args, "verbose", 0):
        # The summary names every failed tenant once; the sync's own warning for each one
        # would print the same reason again, before the table (-v shows them).
        sync_log.setLevel(logging.ERROR)
    try:
        return _run_sync(args)
    finally:
        sync_log.setLevel(level)


def _run_sync(args) -> int:
    try:
        m365 = _connect(args)
    except ConfigError as exc:
        return _usage(f"configuration error: {exc}")
    try:
        try:
            tenants = [m365.resolve_tenant(t) for t in args.tenant] if args.tenant else None
        except ValueError as exc:
            return _usage(str(exc))
        report = m365.sync(tenant=tenants, full=args.full, progress=not args.no_progress)
    finally:
        m365.close()
    frame = report.to_frame()
    names: dict[str, str] = {}
    if len(frame):
        frame["status"] = frame["ok"].map({True: "ok", False: "FAILED"})
        frame["tenant"] = frame["display_name"].fillna(frame["tenant_id"])
        frame["seconds"] = frame["seconds"].round(1)
        names = dict(zip(frame["tenant_id"], frame["display_name"]))
        frame["access"] = frame["access"].fillna("not checked")
        shown = frame[["tenant", "status", "access", "mode", "users", "groups", "objects",
                       "requests", "seconds"]].astype({"users": object, "groups": object})
        # A failed tenant keeps its last snapshot: its counts here would read as "emptied".
        shown.loc[frame["ok"] != True, ["users", "groups"]] = "-"  # noqa: E712
        print(shown.to_string(index=False))
    print(report.summary())
    if report.errors:
        print(f"m365dash: {len(report.errors)} failed; a failed tenant keeps the data of its last "
              "successful sync:", file=sys.stderr)
    for tenant_id, reason in report.errors.items():
        print(f"  {_tenant_label(tenant_id, names.get(tenant_id))}: {reason}", file=sys.stderr)
    if len(frame) and (frame["access"] != "ready").any():
        print("m365dash: some tenants are not ready; `m365dash access` says what is missing and "
              "how to fix it", file=sys.stderr)
    if not len(frame) and not report.errors:
        print("no tenants to sync: check [[tenants]] or partner_tenant_id, and that sync is on",
              file=sys.stderr)
    return 1 if report.errors else 0


def _tenant_label(tenant_id: str, name) -> str:
    """'Name (id)' for a tenant in the report; discovery failures say what was discovered."""
    if tenant_id == "discovery":
        return "tenant discovery (the partner tenant's customer list)"
    if isinstance(name, str) and name and name != tenant_id:
        return f"{name} ({tenant_id})"
    return f"tenant {tenant_id}"


def run_licenses(args) -> int:
    try:
        m365 = _connect(args)
    except ConfigError as exc:
        return _usage(f"configuration error: {exc}")
    try:
        try:
            frame = m365.licenses(args.tenant)
        except ValueError as exc:
            return _usage(str(exc))
    finally:
        m365.close()
    frame = frame.sort_values(["tenant_name", "sku_part_number"], kind="stable", ignore_index=True)
    full = frame["out_of_seats"].astype(bool)          # licenses()' own rule, never re-derived
    frame = frame[REPORT_COLUMNS].copy()
    frame["utilization"] = frame["utilization"].round(4)
    if frame.empty:
        print("no licenses in the store yet: run `m365dash sync` first", file=sys.stderr)
    if args.format == "csv":
        from services.exports import to_csv
        sys.stdout.write(to_csv(frame))
    elif args.format == "json":
        records = json.loads(frame.to_json(orient="records"))
        print(json.dumps(records, indent=2))
    else:
        shown = frame.copy()
        shown["utilization"] = (shown["utilization"] * 100).round(0).map(
            lambda v: "" if v != v else f"{v:.0f}%")
        shown["out_of_seats"] = full.map({True: "yes", False: ""})
        print(shown[TABLE_COLUMNS].to_string(index=False) if len(shown) else "(no licenses)")
    return 0
