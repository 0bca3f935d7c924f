"""Friendly product names for license SKUs.

Graph only knows a SKU by its id and `skuPartNumber` ("SPB"), which technicians do not read
fluently ("Microsoft 365 Business Premium"). `data/skus.csv` is derived from Microsoft's
"Product names and service plan identifiers for licensing" table. A SKU missing from it (new
products appear monthly) shows its part number rather than nothing.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class Sku(NamedTuple):
    sku_id: str
    part_number: str
    product_name: str


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Sku], dict[str, Sku]]:
    by_id: dict[str, Sku] = {}
    by_part: dict[str, Sku] = {}
    text = resources.files("services").joinpath("data/skus.csv").read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    for row in csv.DictReader(lines):
        sku = Sku(row["sku_id"].strip().lower(), row["sku_part_number"].strip(),
                  row["product_name"].strip())
        by_id.setdefault(sku.sku_id, sku)
        by_part.setdefault(sku.part_number.upper(), sku)
    return by_id, by_part


def known_skus() -> list[Sku]:
    """Every SKU in the shipped table, in file order."""
    return list(_table()[0].values())


def lookup(sku_id: str | None = None, part_number: str | None = None) -> Sku | None:
    """The table's entry by SKU id, else by part number; None when neither is known."""
    by_id, by_part = _table()
    if sku_id:
        hit = by_id.get(str(sku_id).strip().lower())
        if hit:
            return hit
    if part_number:
        return by_part.get(str(part_number).strip().upper())
    return None


def product_name(sku_id: str | None, part_number: str | None = None) -> str:
    """Microsoft's product name for a SKU; an unknown SKU shows its part number (else its id)."""
    hit = lookup(sku_id, part_number)
    if hit:
        return hit.product_name
    return (part_number or "").strip() or (str(sku_id) if sku_id else "")


def part_number(sku_id: str) -> str | None:
    hit = lookup(sku_id)
    return hit.part_number if hit else None
