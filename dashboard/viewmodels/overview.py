"""Overview: the figures across every tenant (services.overview), and the price table the
idle-license cost is computed from."""
from __future__ import annotations

import threading
import weakref

import pandas as pd
import param

from services.overview import DEFAULT_PRICES, INACTIVE_DAYS, Overview, overview

from .base import PageViewModel

PRICE_COLUMNS = ["sku_part_number", "product_name", "monthly_price"]
# Figures per store, for the store's tenant versions and the prices asked: at 100,000 users the
# figures take seconds to compute, and every session's first page is the Overview. A write in
# any process sharing the store changes a version or the audit log, and the next Overview
# recomputes.
_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cached_overview(m365, prices: dict[str, float], days: int) -> Overview:
    # A write made here may not change a tenant's version, but it always adds to the audit log.
    newest = m365.audit_log(limit=1)
    last_write = tuple(newest[["time", "action", "outcome"]].astype(str).iloc[0]) \
        if len(newest) else ()
    key = (tuple(sorted(m365.tenant_versions().items())), last_write,
           tuple(sorted(prices.items())), days)
    with _LOCK:
        found = _FIGURES.get(m365.store)
        if found is not None and found[0] == key:
            return found[1]
        figures = overview(m365, prices, days=days)
        _FIGURES[m365.store] = (key, figures)
        return figures


class OverviewViewModel(PageViewModel):
    """State of the Overview page."""

    figures = param.ClassSelector(class_=Overview, default=Overview(), doc="The figures shown, "
                                  "from services.overview.overview().")
    prices = param.DataFrame(default=pd.DataFrame(columns=PRICE_COLUMNS), doc="Monthly price per "
                             "SKU (editable); idle licenses are costed with it.")
    days = param.Integer(default=INACTIVE_DAYS, bounds=(1, 365), doc="A licensed account without "
                         "a sign-in for this many days counts as inactive.")

    def refresh(self) -> None:
        """Recompute the figures from the store (no Graph call)."""
        if self.prices.empty:
            self.prices = self._default_prices()      # the watcher computes the figures
        else:
            self._compute()

    def _default_prices(self) -> pd.DataFrame:
        skus = self.m365.licenses()[["sku_part_number", "product_name"]].astype(str) \
            .drop_duplicates("sku_part_number").sort_values("product_name")
        skus["monthly_price"] = skus["sku_part_number"].map(DEFAULT_PRICES).fillna(0.0)
        return skus.reset_index(drop=True)[PRICE_COLUMNS]

    def price_map(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in zip(self.prices["sku_part_number"],
                                                 self.prices["monthly_price"]) if pd.notna(v)}

    def set_price(self, sku_part_number: str, price: float) -> None:
        """Change one SKU's monthly price; the idle cost follows."""
        if price < 0:
            self.alert("warning", "A monthly price cannot be negative.")
            return
        prices = self.prices.copy()
        prices.loc[prices["sku_part_number"] == sku_part_number, "monthly_price"] = float(price)
        self.prices = prices

    @param.depends("prices", "days", watch=True)
    def _compute(self) -> None:
        if self.m365 is None:
            return
        self.figures = cached_overview(self.m365, self.price_map(), self.days)
