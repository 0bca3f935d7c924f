"""Overview: one card per figure; each card opens the page that lists what it counts.

The cards are one HTML component (views.links.Links) and come first: the two tables below
(idle licenses, prices) are added once the browser has shown them, so the figures do not wait
for two Tabulators to be built (docs/BENCHMARKS.md §6).
"""
from __future__ import annotations

import html

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from services.exports import to_csv

from ..viewmodels.overview import idle_excluded_text
from .common import alerts, csv_download, table, wrapped_cells
from .links import Links, link

SHOWN_IDLE = 300

CARDS_CSS = """
.m365-cards { display: flex; flex-wrap: wrap; gap: 12px; }
.m365-card { box-sizing: border-box; width: 280px; min-height: 170px; padding: 10px 14px 12px;
  border: 1px solid var(--m365-border, #dee2e6); border-radius: 8px;
  background: var(--m365-card-bg, #ffffff); color: var(--m365-fg, #212529);
  display: flex; flex-direction: column; }
.m365-card-title { color: var(--m365-muted, #6c757d); }
.m365-card-figure { font-size: 1.7em; font-weight: 600; }
.m365-card ul { margin: 4px 0 0 0; padding-left: 18px; }
.m365-card-open { margin-top: auto; padding-top: 8px; }
.m365-card-open a { display: inline-block; padding: 4px 10px; border-radius: 6px;
  background: var(--m365-button-bg, #f8f9fa); color: var(--m365-fg, #212529);
  text-decoration: none; border: 1px solid var(--m365-border, #dee2e6); }
.m365-card-open a:hover { background: var(--m365-hover-bg, #e9ecef); }
.m365-idle-excluded { color: var(--m365-warning-fg, #997404); font-size: 0.9em; margin-top: 4px; }
"""


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "no paid seats"


def _lines(rows, limit: int = 6) -> str:
    items = [f"<li>{html.escape(r)}</li>" for r in rows[:limit]]
    more = f"<li>… and {len(rows) - limit} more</li>" if len(rows) > limit else ""
    return f"<ul>{''.join(items)}{more}</ul>" if items else ""


class OverviewView(Viewer):
    """Thin view over OverviewViewModel; `open(page, tenant, user)` is the app's router."""

    def __init__(self, vm, open, titles: dict[str, str], **params):
        super().__init__(**params)
        self.vm, self._open, self._titles = vm, open, titles
        self.cards = Links(open=open, object=self._cards(vm.figures), css=CARDS_CSS,
                           sizing_mode="stretch_width", css_classes=["m365-overview-cards"])
        vm.param.watch(lambda e: setattr(self.cards, "object", self._cards(e.new)), "figures")
        self._layout = pn.Column(pn.pane.Markdown("## Overview"), self.cards,
                                 sizing_mode="stretch_width", css_classes=["m365-overview"])
        self._tables_added = False
        # Once the page has loaded (at once in a notebook or a test, where there is no wait).
        pn.state.onload(self._add_tables)

    def _add_tables(self) -> None:
        if self._tables_added:
            return
        self._tables_added = True
        self._layout.extend(self._tables())

    def _tables(self) -> list:
        vm = self.vm
        admin = vm.may("prices")
        prices = table(vm.param.prices, disabled=not admin, page_size=30,
                       layout="fit_data_table",
                       editors={"sku_part_number": None, "product_name": None,
                                "monthly_price": {"type": "number", "min": 0, "step": 0.5}},
                       titles={"sku_part_number": "SKU", "product_name": "License",
                               "monthly_price": "Monthly price"},
                       formatters={"monthly_price": {"type": "money", "symbol": "$"}},
                       css_classes=["m365-prices"], sizing_mode="fixed", width=720)
        prices.on_edit(lambda e: vm.set_price(prices.value.iloc[e.row]["sku_part_number"],
                                              e.value if e.value is not None else 0))
        # The costliest first, a few hundred at most: at 100,000 users tens of thousands of
        # licenses can be idle; the CSV has all. Paged on the server: 15 rows reach the browser.
        idle = table(pn.bind(self._idle_rows, vm.param.figures), page_size=15, remote=True,
                     empty="No license is held by a disabled or inactive account",
                     titles={"tenant_name": "Tenant", "user_principal_name": "User",
                             "product_name": "License", "why": "Why",
                             "monthly_price": "Monthly"},
                     formatters={"monthly_price": {"type": "money", "symbol": "$"}},
                     css_classes=["m365-idle"],
                     # The table's font as on All Users: at 1280 px every column fits.
                     stylesheets=[wrapped_cells(["tenant_name", "user_principal_name"])])
        export = csv_download(lambda: to_csv(self._idle_rows(vm.figures, limit=None)),
                              "idle-licenses.csv", "Export all as CSV")
        heading = pn.bind(lambda f: f"### Licenses on disabled or inactive accounts (no sign-in "
                          f"for {vm.days} days)" + (f": the {SHOWN_IDLE} costliest of "
                                                    f"{f.idle_licenses:,}"
                                                    if f.idle_licenses > SHOWN_IDLE else ""),
                          vm.param.figures)
        # Tenants whose sign-ins cannot be read (no Entra ID P1, no AuditLog.Read.All, no
        # consent) are left out of "no sign-in for N days": the page says which, and why.
        excluded = pn.pane.HTML(pn.bind(lambda _f, _d: self._excluded_html(vm.idle_excluded_note()),
                                        vm.param.figures, vm.param.days),
                                css_classes=["m365-idle-excluded-note"], sizing_mode="stretch_width",
                                margin=(0, 10))
        status = pn.pane.Markdown(pn.bind(lambda s: s and f"*{s}*", vm.param.status),
                                  css_classes=["m365-prices-status"], margin=(0, 10))
        how = ("Monthly price per seat (edit to cost the idle licenses; every session and "
               "notebook uses these prices)" if admin else
               "Monthly price per seat (admins change them)")
        return [
            # The heading wraps before the export button leaves the page (1280 px).
            pn.Row(pn.pane.Markdown(heading, sizing_mode="stretch_width"), export,
                   sizing_mode="stretch_width"), excluded, idle,
            pn.pane.Markdown(f"### {how}"), alerts(vm), status, prices]

    @staticmethod
    def _excluded_html(note: str) -> str:
        return (f"<div style='color:#664d03;background:#fff3cd;border:1px solid #ffe69c;"
                f"border-radius:6px;padding:6px 10px'>{html.escape(note)}</div>" if note else "")

    @staticmethod
    def _idle_rows(figures, limit: int | None = SHOWN_IDLE) -> pd.DataFrame:
        cols = ["tenant_name", "user_principal_name", "product_name", "why", "monthly_price"]
        rows = figures.idle.reindex(columns=cols).sort_values(
            ["monthly_price", "tenant_name", "user_principal_name"],
            ascending=[False, True, True], kind="stable")
        return (rows if limit is None else rows.head(limit)).reset_index(drop=True)

    def _card(self, key: str, title: str, figure: str, detail: str, page: str | None,
              tenant: str = "") -> str:
        go = (f"<div class='m365-card-open'>"
              f"{link('Open ' + self._titles[page], page, tenant, css_class=f'm365-card-open-{key}')}"
              "</div>" if page else "")
        return (f"<div class='m365-card m365-card-{key}'>"
                f"<div class='m365-card-title'>{html.escape(title)}</div>"
                f"<div class='m365-card-figure'>{html.escape(figure)}</div>"
                f"<div class='m365-card-detail'>{detail}</div>{go}</div>")

    @staticmethod
    def _excluded_line(excluded) -> str:
        text = idle_excluded_text(excluded)
        return f"<div class='m365-idle-excluded'>{html.escape(text)}</div>" if text else ""

    def _cards(self, f) -> str:
        one_tenant = f.full_skus["tenant_id"].nunique() == 1 if len(f.full_skus) else False
        full = [f"{r.tenant_name}: {r.product_name} ({r.consumed} of {r.enabled})"
                for r in f.full_skus.itertuples()]
        errors = self.vm.sync_error_lines()
        activity = [f"{pd.Timestamp(r.time).strftime('%Y-%m-%d %H:%M')} {r.actor} {r.action} "
                    f"{r.user or ''}: {r.outcome}" for r in f.activity.itertuples()]
        cards = [
            self._card("tenants", "Tenants", f"{f.tenants:,}",
                       f"{f.tenants_synced} synced · {f.tenants_failing} failing · "
                       f"{f.tenants_sync_off} sync off", "tenants"),
            self._card("users", "Users", f"{f.users:,}", f"{f.licensed_users:,} licensed",
                       "users"),
            self._card("seats", "Paid seats used", f"{f.seats_used:,} of {f.seats_purchased:,}",
                       f"{_pct(f.seats_used, f.seats_purchased)} · free SKUs sold by the "
                       "thousand not counted", "licenses"),
            self._card("full", "SKUs out of seats", f"{len(f.full_skus):,}", _lines(full),
                       "licenses", f.full_skus["tenant_id"].iloc[0] if one_tenant else ""),
            self._card("idle", "Idle licenses", f"{f.idle_licenses:,}",
                       f"on disabled or inactive accounts · ${f.idle_monthly_cost:,.2f} a month "
                       "(listed below)" + self._excluded_line(f.idle_excluded), None),
            self._card("errors", "Sync errors", f"{len(f.sync_errors):,}",
                       _lines(errors) or "every tenant synced without error", "tenants"),
            self._card("activity", "Latest activity", f"{len(f.activity):,}",
                       _lines(activity) or "nothing yet", "activity"),
        ]
        return f"<div class='m365-cards'>{''.join(cards)}</div>"

    def __panel__(self):
        return self._layout

