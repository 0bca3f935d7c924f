"""Overview: the figures across every tenant (services.overview), and the price table the
idle-license cost is computed from."""
from __future__ import annotations

import re
import threading
import weakref

import pandas as pd
import param

from services import access as A
from services.overview import DEFAULT_PRICES, INACTIVE_DAYS, Overview, overview

from .base import PageViewModel

PRICE_COLUMNS = ["sku_part_number", "product_name", "monthly_price"]
_NOT_AVAILABLE = re.compile(r"^not available \((.*)\)$")


def excluded_reason(reason) -> str:
    """'not available (needs Entra ID P1)' -> 'needs Entra ID P1'."""
    text = "" if reason is None or reason != reason else str(reason)
    found = _NOT_AVAILABLE.match(text)
    return found.group(1) if found else (text or "sign-ins cannot be read")


def idle_excluded_text(excluded: pd.DataFrame) -> str:
    """Which tenants the idle-license figures leave out, and why: 'excludes Relecloud (needs
    Entra ID P1)'; '' when none is left out."""
    if excluded is None or excluded.empty:
        return ""
    return "excludes " + ", ".join(f"{r.display_name} ({excluded_reason(r.reason)})"
                                   for r in excluded.itertuples())
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


SHORT_ERROR = 160      # characters of a sync error on the card; All Tenants has it whole


def sync_error_lines(sync_errors: pd.DataFrame, tenants: pd.DataFrame | None = None) -> list[str]:
    """One line per failing tenant for the Sync errors card: a tenant the app cannot sign in to
    (no consent, relationship expired, tenant unknown) says so and where the fix is, instead of
    Entra's whole refusal; other errors are cut short."""
    status = {} if tenants is None or "access" not in tenants else \
        dict(zip(tenants["tenant_id"], tenants["access"]))
    lines = []
    for r in sync_errors.itertuples():
        access = status.get(r.tenant_id)
        if access in A.BLOCKING:
            lines.append(f"{r.display_name}: {access}, see Access on All Tenants for the fix")
            continue
        text = " ".join(str(r.last_error).split())
        lines.append(f"{r.display_name}: "
                     f"{text if len(text) <= SHORT_ERROR else text[:SHORT_ERROR - 1] + '…'}")
    return lines


class OverviewViewModel(PageViewModel):
    """State of the Overview page."""

    figures = param.ClassSelector(class_=Overview, default=Overview(), doc="The figures shown, "
                                  "from services.overview.overview().")
    prices = param.DataFrame(default=pd.DataFrame(columns=PRICE_COLUMNS), doc="Monthly price per "
                             "SKU (editable); idle licenses are costed with it.")
    days = param.Integer(default=INACTIVE_DAYS, bounds=(1, 365), doc="A licensed account without "
                         "a sign-in for this many days counts as inactive.")

    def sync_error_lines(self) -> list[str]:
        """The Sync errors card's lines for the current figures (reads the tenants' access from
        the store, no Graph call)."""
        if self.figures.sync_errors.empty or self.m365 is None:
            return sync_error_lines(self.figures.sync_errors)
        return sync_error_lines(self.figures.sync_errors, self.m365.tenants())

    def idle_excluded_note(self) -> str:
        """The sentence under the idle licenses saying which tenants they leave out: their
        sign-ins cannot be read, so their quiet accounts cannot be told from active ones; their
        disabled accounts still count."""
        text = idle_excluded_text(self.figures.idle_excluded)
        if not text:
            return ""
        n = len(self.figures.idle_excluded)
        return (f"No sign-in for {self.days} days {text}: "
                f"{'its' if n == 1 else 'their'} sign-ins cannot be read, so only "
                f"{'its' if n == 1 else 'their'} disabled accounts count.")

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
