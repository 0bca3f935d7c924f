"""`m365dash consent [--tenant ID]... [--format table|csv|json] [--push]`: every active GDAP
customer whose access is "no consent" (as the last sync or `m365dash access` found it), with its
admin-consent link; `--push` has Partner Center consent the app in each of them (CSP partners,
services/partner_center.py).

The push signs a partner admin in by device code: the verification URL and code are printed on
stderr (stdout keeps the report, so CSV and JSON stay clean); the token is never shown.
Exit status: 0 listed / every push consented or already consented, 1 some push failed, 2 bad
usage or configuration.
"""
from __future__ import annotations

import sys

from .common import open_for_tenants, print_csv_or_json


def register(subparsers) -> None:
    p = subparsers.add_parser("consent", help="customers without consent and their admin-consent "
                                              "links; --push consents through Partner Center")
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")
    p.add_argument("--tenant", action="append", metavar="ID",
                   help="only this tenant (id, verified domain or name); repeatable")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--push", action="store_true",
                   help="consent the app in each listed customer through Partner Center's "
                        "application-consent API (a partner admin signs in by device code)")
    p.set_defaults(func=run_consent)


def _print(frame, fmt: str, empty: str) -> None:
    if print_csv_or_json(frame, fmt):
        return
    if frame.empty:
        print(empty)
    else:
        print(frame.to_string(index=False))


def run_consent(args) -> int:
    from services import partner_center as PC
    m365, tenants = open_for_tenants(args)
    if m365 is None:
        return 2
    try:
        if args.push and not m365.config.graph.partner_tenant_id:
            print("m365dash: configuration error: consent --push signs a partner admin in to "
                  "the partner tenant: set partner_tenant_id in [graph]", file=sys.stderr)
            return 2
        rows, warning = PC.pending(m365, tenants)
        if warning:
            print(f"m365dash: warning: {warning}", file=sys.stderr)
        if not args.push:
            _print(rows, args.format, "no active customer without consent (as the last sync or "
                                      "`m365dash access` found)")
            return 0
        if rows.empty:
            _print(rows.reindex(columns=PC.OUTCOME_COLUMNS), args.format,
                   "nothing to push: no active customer without consent")
            return 0
        outcomes = PC.push_all(m365, rows, lambda text: print(text, file=sys.stderr, flush=True))
    finally:
        m365.close()
    if args.format == "table":
        for row in outcomes.itertuples():
            tail = f": {row.detail}" if row.detail else ""
            print(f"{row.tenant} ({row.tenant_id}): {row.outcome}{tail}")
        print("run `m365dash access` to see the new consents" if (
            outcomes["outcome"] != PC.FAILED).any() else "no consent was granted")
    else:
        _print(outcomes, args.format, "")
    return 1 if (outcomes["outcome"] == PC.FAILED).any() else 0
