"""Queries on the MSP's license price table (schema.license_prices).

services.license_prices decides what is valid and who may change it; these functions read the
table and write one SKU's price.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .schema import ensure_tables
from .schema import license_prices as t


def read_rows(engine: Engine) -> list[dict]:
    """Every stored price: sku_part_number, monthly_price, updated, updated_by."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.sku_part_number))
                .mappings()]


def save_price(engine: Engine, sku_part_number: str, monthly_price: float, *,
               updated: datetime, updated_by: str) -> float | None:
    """Insert or replace one SKU's price in one transaction; returns the price it replaced
    (None when the SKU had none stored)."""
    ensure_tables(engine, t)
    values = {"monthly_price": float(monthly_price), "updated": updated, "updated_by": updated_by}
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                before = conn.execute(sa.select(t.c.monthly_price)
                                      .where(t.c.sku_part_number == sku_part_number)).scalar()
                if before is None:
                    conn.execute(t.insert().values(sku_part_number=sku_part_number, **values))
                else:
                    conn.execute(t.update().where(t.c.sku_part_number == sku_part_number)
                                 .values(**values))
            return before
        except IntegrityError:
            # Two first saves of the same SKU at once: the other one inserted; update it.
            if attempt == 2:
                raise
    return None
