"""The licenses held by disabled or long-quiet accounts, read by one query (services.overview).

Reading users() and user_licenses() whole and joining them in pandas took about 2.5 s at
100,000 users; the database joins and filters, and only the idle rows (a third of the
licenses, at most) come back. The rule is services.overview.idle_licenses(), applied to the
stored text: sign-in times are canonical ISO text ("2026-11-26T10:00:00Z"), so "no sign-in
since the cutoff" is a text comparison.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as S
from .frames import frame, raw_rows, tenant_filter, tenant_names
from .listings import _tenant_names, with_sku_names

COLUMNS = ["tenant_id", "tenant_name", "user_id", "user_principal_name", "sku_id",
           "sku_part_number", "product_name", "disabled"]


def idle_license_rows(conn: Connection, scope: Iterable[str] | None, cutoff: str,
                      quiet_exempt: Iterable[str] = ()) -> pd.DataFrame:
    """One row per license held by a disabled account, or by an enabled account whose last
    sign-in is missing or at or before `cutoff` (ISO UTC text), except enabled accounts of the
    `quiet_exempt` tenants (their sign-ins cannot be read). `disabled` says which. In the order
    of user_licenses(): tenant id, sign-in name, SKU id."""
    ul, u = S.user_licenses, S.users
    exempt = list(quiet_exempt)
    quiet = sa.or_(u.c.last_sign_in.is_(None), u.c.last_sign_in <= cutoff)
    if exempt:
        quiet = sa.and_(quiet, u.c.tenant_id.not_in(exempt))
    stmt = (sa.select(ul.c.tenant_id, ul.c.user_id, u.c.user_principal_name, ul.c.sku_id,
                      u.c.account_enabled)
            .join(u, (u.c.tenant_id == ul.c.tenant_id) & (u.c.id == ul.c.user_id))
            .where(tenant_filter(ul, scope),
                   sa.or_(u.c.account_enabled == sa.false(),
                          sa.and_(u.c.account_enabled == sa.true(), quiet)))
            .order_by(ul.c.tenant_id, u.c.user_principal_name, ul.c.sku_id))
    df = frame(raw_rows(conn, stmt), ["tenant_id", "user_id", "user_principal_name", "sku_id",
                                      "account_enabled"])
    tenant = with_sku_names(conn, scope, df)
    df["tenant_name"] = _tenant_names(tenant, tenant_names(conn))
    df["disabled"] = ~df["account_enabled"].astype(bool).to_numpy() if len(df) else \
        pd.Series([], dtype=bool)
    return df[COLUMNS].astype({"disabled": bool})
