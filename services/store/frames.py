"""Turning store rows into DataFrames with the dtypes analysts expect.

Categorical for repeated labels (tenant, department), nullable "boolean" and "Int64" so a missing
value stays missing instead of turning a column into float or object, and timezone-aware UTC
datetimes parsed in one vectorised call.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as S


def utc(values) -> pd.Series:
    """ISO-8601 text (or datetimes) -> datetime64 UTC; missing or unparsable -> NaT."""
    return pd.to_datetime(pd.Series(values, dtype="object"), utc=True, errors="coerce",
                          format="ISO8601")


def frame(rows: Sequence, columns: list[str]) -> pd.DataFrame:
    if len(rows):
        return pd.DataFrame.from_records(rows, columns=columns)
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def raw_rows(conn: Connection, stmt) -> list[tuple]:
    """The statement's rows as the driver's plain tuples.

    SQLAlchemy compiles the statement for the dialect as usual; only its per-row Row objects are
    skipped, which cost more than the query itself for 100k users. The columns read this way are
    text, integers and booleans (SQLite gives 0/1, which the "boolean" dtype accepts).
    """
    return conn.execute(stmt).cursor.fetchall()


def apply_dtypes(df: pd.DataFrame, spec: dict[str, str]) -> pd.DataFrame:
    """Set dtypes per `spec` (category | boolean | Int64 | float | str | utc); every other
    column holds text and becomes "str", whether or not a value is present."""
    for column in df.columns:
        kind = spec.get(column, "str")
        values = df[column]
        if kind == "utc":
            df[column] = utc(values).astype("datetime64[us, UTC]").array
        elif kind == "str":
            if values.dtype != "str":
                df[column] = values.astype("str")    # missing stays missing (NaN)
        elif kind == "float":
            df[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            df[column] = values.astype(kind)
    return df


def tenant_filter(table: sa.Table, tenant_ids: Iterable[str] | None):
    """A WHERE clause for `tenant_ids` (None = every tenant)."""
    if tenant_ids is None:
        return sa.true()
    return table.c.tenant_id.in_(list(tenant_ids))


def tenant_names(conn: Connection) -> dict[str, str]:
    t = S.tenants
    return {r.tenant_id: r.display_name or r.tenant_id
            for r in conn.execute(sa.select(t.c.tenant_id, t.c.display_name))}
