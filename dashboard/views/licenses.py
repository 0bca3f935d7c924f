"""Licenses page: consumed against purchased per SKU (out-of-seat SKUs in a warning colour),
utilization per tenant, the SKU table and the users behind a chosen SKU."""
from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401 - registers .hvplot on DataFrames
import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..viewmodels.licenses import CHART_SEAT_LIMIT
from .common import WRAP_HEADERS, alerts, table, wrapped_cells

OK, AMBER, WARN, OVER, BOUGHT = "#1f77b4", "#f0ad4e", "#e6550d", "#c9302c", "#c6dbef"
# The chosen row stays readable: a blue outline and bold text instead of Tabulator's colour,
# which turned coloured rows white on peach.
SELECTED_CSS = ("\n.tabulator-row.tabulator-selected { outline: 2px solid #0d6efd; "
                "outline-offset: -2px; font-weight: 600; }\n"
                ".tabulator-row.tabulator-selected .tabulator-cell { color: inherit !important; }")


def sku_chart(per_sku: pd.DataFrame):
    """Purchased seats as wide light bars, consumed as narrow bars over them; orange when the
    SKU is out of seats somewhere in scope."""
    if per_sku.empty:
        return pn.pane.Markdown("No paid SKUs in scope.")
    over = per_sku.get("over_allocated", pd.Series(False, index=per_sku.index))
    df = per_sku.assign(colour=[OVER if v else WARN if o else OK
                                for o, v in zip(per_sku["out_of_seats"], over)],
                        state=["more assigned than bought" if v else "out of seats" if o
                               else "seats left" for o, v in zip(per_sku["out_of_seats"], over)])
    height = max(240, 30 * len(df) + 80)
    bought = df.hvplot.barh(x="product_name", y="enabled", color=BOUGHT, height=height,
                            responsive=True, xlabel="", ylabel="seats (light: purchased)",
                            hover_cols=["consumed", "available"], label="purchased")
    used = df.hvplot.barh(x="product_name", y="consumed", color="colour", height=height,
                          responsive=True, hover_cols=["enabled", "available", "state"],
                          label="consumed").opts(bar_width=0.45)
    return (bought * used).opts(title="Seats used of purchased, per SKU",
                                show_legend=False, toolbar=None)


def tenant_chart(per_tenant: pd.DataFrame):
    """Paid-seat utilization per tenant, fullest first; orange from 100 %, amber from 90 %."""
    if per_tenant.empty:
        return pn.pane.Markdown("")
    df = per_tenant.assign(percent=(per_tenant["utilization"] * 100).round(1))
    df = df.sort_values("percent").tail(40)   # the 40 fullest tenants: the ones close to running out
    # Red past 100 % (more seats assigned than bought), orange at 100 %, amber from 90 %.
    df["colour"] = [OVER if p > 100 else WARN if p >= 100 else (AMBER if p >= 90 else OK)
                    for p in df["percent"]]
    title = "Paid-seat utilization per tenant" + (
        f" (the 40 fullest of {len(per_tenant)})" if len(per_tenant) > 40 else "")
    # A fixed 0-100 % scale, so a 24 % tenant does not fill the width.
    top = max(100.0, float(df["percent"].max()) + 5)
    return df.hvplot.barh(x="tenant_name", y="percent", color="colour", responsive=True,
                          height=max(240, 26 * len(df) + 80), xlabel="",
                          ylabel="% of paid seats used", hover_cols=["skus_out_of_seats"],
                          title=title).opts(hv.opts.Bars(ylim=(0, top), toolbar=None))


class LicensesView(Viewer):
    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        tenant = pn.widgets.Select.from_param(vm.param.tenant, name="Tenant", width=260,
                                              css_classes=["m365-licenses-tenant"])
        self.skus = table(self._shown(vm.skus),
                          hidden=["tenant_id", "sku_id", "out_of_seats", "over_allocated"],
                          selectable=1, css_classes=["m365-skus"],
                          stylesheets=[wrapped_cells(["tenant_name", "product_name", "sku_part_number"])
                                       + SELECTED_CSS],
                          configuration=WRAP_HEADERS,
                          widths={"tenant_name": "16%", "product_name": "22%",
                                  "sku_part_number": "19%", "capability_status": "9%",
                                  "enabled": "9%", "consumed": "7%", "available": "7%",
                                  "utilization": "9%"},
                          layout="fit_columns",
                          titles={"tenant_name": "Tenant", "product_name": "License",
                                  "sku_part_number": "SKU", "capability_status": "Status",
                                  "enabled": "Purchased", "consumed": "Used", "available": "Left",
                                  "utilization": "Utilization"})
        self.skus.style.apply(self._warn_rows, axis=1)
        self.skus.param.watch(self._selected, "selection")
        vm.param.watch(self._show_skus, "skus")
        note = ("Light bars: seats purchased; dark bars: seats used, orange when the SKU is out of "
                "seats, red when a tenant has more assigned than bought. Charts leave out SKUs sold by the thousand (at least {CHART_SEAT_LIMIT:,} seats, "
                "such as free and viral SKUs); the table lists every SKU. In the table, red rows "
                "have more seats assigned than bought; orange rows are full.")
        self._layout = pn.Column(
            pn.pane.Markdown("## Licenses"), tenant, alerts(vm),
            pn.Row(pn.panel(pn.bind(sku_chart, vm.param.per_sku), sizing_mode="stretch_width"),
                   pn.panel(pn.bind(tenant_chart, vm.param.per_tenant), sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            pn.pane.Markdown(f"*{note}*", styles={"color": "#6c757d"}),
            pn.pane.Markdown("### SKUs (pick one to see its users)"), self.skus,
            pn.pane.Markdown(pn.bind(lambda k: "### Users of the chosen SKU" if k else "",
                                     vm.param.selected_sku)),
            # No empty grid before a SKU is picked: the heading above says what to do. Clipped
            # to no height rather than hidden: a Tabulator filled under `display: none` showed
            # no rows once visible.
            pn.Column(table(vm.param.sku_users, page_size=20, css_classes=["m365-sku-users"],
                            titles={"tenant_name": "Tenant", "user_principal_name": "User",
                                    "product_name": "License", "source": "Assigned"},
                            empty="Nobody holds this SKU"),
                      styles=pn.bind(lambda k: {"max-height": "none" if k else "0px",
                                                "overflow": "visible" if k else "hidden"},
                                     vm.param.selected_sku),
                      sizing_mode="stretch_width", margin=0),
            sizing_mode="stretch_width")

    @staticmethod
    def _warn_rows(row):
        """Over-allocated SKUs red, full ones orange, as the services' rules mark them (never
        re-derived here)."""
        if bool(row.get("over_allocated", False)):
            colour = "background-color: #f8d0cd; color: #8a1c14"
        elif bool(row.get("out_of_seats", False)):
            colour = "background-color: #fde0cf"
        else:
            colour = ""
        return [colour] * len(row)

    def _show_skus(self, event) -> None:
        """New rows for the SKU table (another tenant, a refresh).

        Tabulator keeps row colours by row number. Sent with rows they no longer fit (36 SKUs of
        every tenant, then the 9 of one), it looks up each coloured row that is gone and logs
        "Find Error - No matching row found" in the browser console, dozens per tenant switch,
        and colours whichever rows now sit at those numbers until the new colours arrive. So the
        old colours go first, with the old rows (an empty table has none), then the new rows with
        theirs; the selection follows the chosen SKU rather than a row number.
        """
        skus = self._shown(event.new)
        self.skus.selection = []
        self.skus.value = skus.iloc[:0]
        self.skus.value = skus
        self.skus.selection = self._chosen_rows(skus)

    @staticmethod
    def _shown(skus: pd.DataFrame) -> pd.DataFrame:
        """The SKU rows as the table shows them: utilization as a percentage."""
        if "utilization" not in skus or skus.empty:
            return skus
        pct = (pd.to_numeric(skus["utilization"], errors="coerce") * 100).round()
        return skus.assign(utilization=[f"{int(p)}%" if pd.notna(p) else "" for p in pct])

    def _chosen_rows(self, skus: pd.DataFrame) -> list[int]:
        if not self.vm.selected_sku or skus.empty:
            return []
        keys = (skus["tenant_id"].astype(str) + "/" + skus["sku_id"].astype(str)).tolist()
        return [keys.index(self.vm.selected_sku)] if self.vm.selected_sku in keys else []

    def _selected(self, event) -> None:
        if event.new:
            self.vm.select(event.new[0])

    def __panel__(self):
        return self._layout
