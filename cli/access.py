"""`m365dash access [--tenant ID]... [--format table|csv|json] [--stored]`: what the app may do
in each tenant, what is missing, what it switches off, and the admin-consent link.

By default every tenant is checked live (a fresh token per tenant, the app's directory roles,
an Entra ID P1 probe) and the result is stored, so the dashboard shows it too; `--stored`
prints what the last sync or check found without calling Microsoft.
Exit status: 0 every tenant ready, 1 some tenant is not, 2 bad usage or configuration.
"""
from __future__ import annotations


from .common import open_for_tenants, print_csv_or_json

TABLE_COLUMNS = ["tenant", "access", "missing_permissions", "features_off", "last_sign_in"]


def register(subparsers) -> None:
    p = subparsers.add_parser("access", help="per tenant: consent, granted permissions, what is "
                                             "missing and which features it switches off")
    p.add_argument("--config", metavar="FILE", help="m365dash.toml (default: the usual lookup)")
    p.add_argument("--tenant", action="append", metavar="ID",
                   help="only this tenant (id, verified domain or name); repeatable")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--stored", action="store_true",
                   help="print what the store knows; do not ask Entra and Graph again")
    p.set_defaults(func=run_access)


def run_access(args) -> int:
    m365, tenants = open_for_tenants(args)
    if m365 is None:
        return 2
    try:
        frame = m365.access(tenants) if args.stored else m365.check_access(tenants)
    finally:
        m365.close()
    if print_csv_or_json(frame, args.format):
        pass            # the exit code below says whether every tenant is ready
    elif frame.empty:
        print("no tenants: run `m365dash sync` first (or check [[tenants]] / partner_tenant_id)")
    else:
        print(frame[TABLE_COLUMNS].to_string(index=False))
        for row in frame.itertuples():
            if row.access != "ready":
                print(f"\n{row.tenant} ({row.tenant_id}): {row.access}\n  fix: {row.fix}")
                if row.missing_permissions:
                    print(f"  missing: {row.missing_permissions}")
                if row.access in ("no consent", "missing permissions"):
                    print(f"  consent: {row.consent_url}")
    return 0 if len(frame) and (frame["access"] == "ready").all() else 1
