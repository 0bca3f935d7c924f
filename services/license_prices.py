"""The MSP's monthly price per SKU: what a license on a disabled or inactive account costs.

The Overview's "licenses held by disabled or 90-day inactive accounts: monthly cost" and the
license-audit notebook read one table, kept in the store so every session, notebook and
process sees the same prices. A SKU never priced is priced from services.overview's
DEFAULT_PRICES (list prices of common SKUs), else 0. Admins change a price (role permission
"prices"); every change, and every refusal, is audited with the price it replaced.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pandas as pd

from .store import prices as store

COLUMNS = ["sku_part_number", "product_name", "monthly_price", "is_default", "updated",
           "updated_by"]
MAX_PRICE = 100_000.0          # a month of one seat; more is a typo


def _defaults() -> dict[str, float]:
    from .overview import DEFAULT_PRICES
    return DEFAULT_PRICES


def price_map(m365) -> dict[str, float]:
    """SKU part number -> monthly price: the stored prices over the defaults."""
    stored = {r["sku_part_number"]: float(r["monthly_price"])
              for r in store.read_rows(m365.store.engine)}
    return {**_defaults(), **stored}


def price_frame(m365) -> pd.DataFrame:
    """One row per SKU in the store's licenses() and per SKU priced (COLUMNS), by product name."""
    stored = {r["sku_part_number"]: r for r in store.read_rows(m365.store.engine)}
    defaults = _defaults()
    skus = m365.licenses()[["sku_part_number", "product_name"]].astype(str) \
        .drop_duplicates("sku_part_number")
    names = dict(zip(skus["sku_part_number"], skus["product_name"]))
    rows = []
    for sku in sorted(set(names) | set(stored)):
        row = stored.get(sku)
        updated = row["updated"] if row else None
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=timezone.utc)      # SQLite returns naive UTC
        rows.append({"sku_part_number": sku, "product_name": names.get(sku, sku),
                     "monthly_price": float(row["monthly_price"]) if row
                     else float(defaults.get(sku, 0.0)),
                     "is_default": row is None, "updated": updated,
                     "updated_by": row["updated_by"] if row else None})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = df.sort_values(["product_name", "sku_part_number"], kind="stable").reset_index(drop=True)
    return df.astype({"monthly_price": "float64", "is_default": "bool"}) \
        .assign(updated=pd.to_datetime(df["updated"], utc=True))


def _sku(m365, sku) -> str:
    """The part number for a part number or a product name (any case) known to the store; a
    part number not in the store is accepted as given (a SKU about to be bought)."""
    text = str(sku or "").strip()
    if not text:
        raise ValueError("sku must not be empty; use a SKU part number (such as SPE_E3) or a "
                         "product name as m365.licenses() lists them")
    skus = m365.licenses()[["sku_part_number", "product_name"]].astype(str)
    for column in ("sku_part_number", "product_name"):
        hit = skus.loc[skus[column].str.lower() == text.lower(), "sku_part_number"]
        if len(hit):
            return str(hit.iloc[0])
    if " " in text:
        raise ValueError(f"sku={sku!r} is not a SKU part number or product name of any tenant; "
                         "m365.licenses() lists them")
    return text


def check_price(price) -> float:
    """The price to store, or ValueError saying what is wrong with it."""
    try:
        value = float(price)
    except (TypeError, ValueError):
        raise ValueError(f"a monthly price is a number, not {price!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError("a monthly price is a number, not NaN or infinity")
    if value < 0:
        raise ValueError("a monthly price cannot be negative")
    if value > MAX_PRICE:
        raise ValueError(f"a monthly price of {value:,.2f} for one seat is more than "
                         f"{MAX_PRICE:,.0f}; check the figure")
    return round(value, 4)


def save(m365, sku, price) -> dict:
    asked = {"sku": str(sku), "monthly_price": price}
    m365.require_role("prices", action="license_price", detail=asked)
    part = _sku(m365, sku)
    value = check_price(price)
    before = store.save_price(m365.store.engine, part, value,
                              updated=datetime.now(timezone.utc), updated_by=m365.actor.name)
    previous = before if before is not None else _defaults().get(part)
    m365.audit(action="license_price", outcome="done",
               detail={"sku_part_number": part, "monthly_price": value, "before": previous})
    return {"sku_part_number": part, "monthly_price": value, "before": previous}


class LicensePricesMixin:
    """Methods of the `M365` object (needs store, licenses, require_role, audit)."""

    def license_prices(self) -> pd.DataFrame:
        """The price table: sku_part_number, product_name, monthly_price (per seat and month),
        is_default (never set: priced from the defaults, 0 when none), updated, updated_by.
        One row per SKU of any tenant in the store, and per SKU priced."""
        return price_frame(self)

    def license_price_map(self) -> dict[str, float]:
        """SKU part number -> monthly price, the stored prices over the defaults."""
        return price_map(self)

    def set_license_price(self, sku, monthly_price: float) -> dict:
        """Set one SKU's monthly price per seat (admins; audited with the price replaced).
        `sku` is a part number (SPE_E3) or a product name (Microsoft 365 E3). Returns
        {"sku_part_number", "monthly_price", "before"}. A negative, missing or absurd price is
        a ValueError, and a role without "prices" raises PermissionDenied; nothing is saved."""
        return save(self, sku, monthly_price)
