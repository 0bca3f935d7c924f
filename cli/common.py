"""What several commands share: opening the configured M365 for `--tenant` names, and printing
a frame as CSV or JSON."""
from __future__ import annotations

import json
import sys

from services.errors import ConfigError


def open_for_tenants(args):
    """(m365, tenant ids or None for all) from `--config` and `--tenant`; (None, None) after
    printing why when the configuration or a tenant name is wrong (the command exits 2)."""
    from services.api import connect
    try:
        m365 = connect(args.config)
    except ConfigError as exc:
        print(f"m365dash: configuration error: {exc}", file=sys.stderr)
        return None, None
    try:
        tenants = [m365.resolve_tenant(t) for t in args.tenant] if args.tenant else None
    except ValueError as exc:
        m365.close()
        print(f"m365dash: {exc}", file=sys.stderr)
        return None, None
    return m365, tenants


def print_csv_or_json(frame, fmt: str) -> bool:
    """Print `frame` when `fmt` is csv or json; False for any other format (the caller's table)."""
    if fmt == "csv":
        from services.exports import to_csv
        sys.stdout.write(to_csv(frame))
    elif fmt == "json":
        print(json.dumps(json.loads(frame.to_json(orient="records", date_format="iso")), indent=2))
    else:
        return False
    return True
