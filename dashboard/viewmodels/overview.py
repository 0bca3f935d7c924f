"""Overview: the figures across every tenant (services.overview), and the price table the
idle-license cost is computed from."""
from __future__ import annotations

import logging
import re
import threading
import weakref

import pandas as pd
import param

from services import access as A
from services.errors import PermissionDenied
from services.license_prices import COLUMNS as STORED_PRICE_COLUMNS
from services.overview import INACTIVE_DAYS, Overview, overview

from .base import PageViewModel, error_text

PRICE_COLUMNS = ["sku_part_number", "product_name", "monthly_price"]
log = logging.getLogger(__name__)
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
# Figures per store, for the store's tenant versions, its newest audit entry and the prices
# asked: every session's first page is the Overview, and one computation serves them all. A
# write in any process sharing the store changes a version or the audit log (a price change is
# audited too), and the next Overview recomputes.
_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _store_state(m365) -> tuple:
    newest = m365.audit_log(limit=1)
    last_write = tuple(newest[["time", "action", "outcome"]].astype(str).iloc[0]) \
        if len(newest) else ()
    return tuple(sorted(m365.tenant_versions().items())), last_write


def cached_overview(m365, prices: dict[str, float] | None = None,
                    days: int = INACTIVE_DAYS) -> Overview:
    """The figures for the store's current state; `prices` None: the stored price table.
    Concurrent sessions wait for one computation instead of each computing."""
    prices = m365.license_price_map() if prices is None else prices
    key = (*_store_state(m365), tuple(sorted(prices.items())), days)
    with _LOCK:
        found = _FIGURES.get(m365.store)
        if found is not None and found[0] == key:
            return found[1]
        figures = overview(m365, prices, days=days)
        _FIGURES[m365.store] = (key, figures)
        return figures


def warm(m365) -> None:
    """Compute the figures with the stored prices now (a server does it at start, so the first
    session's Overview does not wait for them)."""
    try:
        cached_overview(m365)
    except Exception:  # noqa: BLE001 - the first Overview computes them instead, and says why
        log.exception("computing the Overview figures ahead failed")


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
                             "SKU, as stored (m365.license_prices()); idle licenses are costed "
                             "with it. Admins change a price with set_price().")
    days = param.Integer(default=INACTIVE_DAYS, bounds=(1, 365), doc="A licensed account without "
                         "a sign-in for this many days counts as inactive.")

    def sync_error_lines(self) -> list[str]:
        """The Sync errors card's lines for the current figures (no store read: the failing
        tenants' access came with the figures)."""
        access = self.figures.sync_error_access
        tenants = pd.DataFrame({"tenant_id": list(access), "access": list(access.values())})
        return sync_error_lines(self.figures.sync_errors, tenants if access else None)

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
        """Read the price table and the figures from the store (no Graph call)."""
        if self.m365 is None:
            return
        with param.parameterized.discard_events(self):
            self.prices = self._stored_prices()
        self.param.trigger("prices")                 # the watcher computes the figures

    def _stored_prices(self) -> pd.DataFrame:
        stored = self.m365.license_prices()
        return stored.reindex(columns=STORED_PRICE_COLUMNS)[PRICE_COLUMNS].reset_index(drop=True)

    def price_map(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in zip(self.prices["sku_part_number"],
                                                 self.prices["monthly_price"]) if pd.notna(v)}

    def set_price(self, sku_part_number: str, price: float) -> bool:
        """Store one SKU's monthly price (admins; audited by the services); the idle cost and
        every session's Overview follow. False, with an alert, when it was not saved."""
        try:
            saved = self.m365.set_license_price(sku_part_number, price)
        except (PermissionDenied, ValueError) as exc:
            self.alert("warning", f"The price of {sku_part_number} was not changed: "
                                  f"{error_text(exc)}")
            self.prices = self.prices.copy()       # the table shows the stored price again
            return False
        self.clear_alerts()                          # a later success clears a failure's alert
        self.status = (f"{saved['sku_part_number']} now costs ${saved['monthly_price']:,.2f} "
                       "a month per seat")
        self.prices = self._stored_prices()
        return True

    @param.depends("prices", "days", watch=True)
    def _compute(self) -> None:
        if self.m365 is None:
            return
        self.figures = cached_overview(self.m365, self.price_map(), self.days)
