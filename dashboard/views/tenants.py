"""All Tenants page: tenant figures, sync switch per tenant, sync now, portal links."""
from __future__ import annotations

import html

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..viewmodels.tenants import portal_links
from .common import WRAP_HEADERS, action, alerts, busy_bar, table


SHORT = {"Microsoft 365 admin": "M365"}
# The columns shown, in order, with their share of the page's width: every column fits, so
# nothing hides behind a sideways scroll. The tenant cell carries its domain and portal links,
# and counts are joined into short texts; the raw numbers stay in `m365.tenants()`.
SHOWN = {"tenant": "22%", "users_text": "10%", "seats_text": "11%", "seats_available": "7%",
         "skus_out_of_seats": "8%", "last_sync": "13%", "synced": "7%", "last_error": "12%",
         "sync_now": "9%"}
TITLES = {"tenant": "Tenant", "users_text": "Users", "seats_text": "Paid seats",
          "seats_available": "Seats left", "skus_out_of_seats": "Full SKUs",
          "last_sync": "Last sync (UTC)", "synced": "Sync on", "last_error": "Last error",
          "sync_now": ""}


def _links_html(links: dict[str, str]) -> str:
    return " · ".join(f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer" '
                      f'title="{html.escape(name)}">{html.escape(SHORT.get(name, name))}</a>'
                      for name, url in links.items())


def _tenant_html(name, domain, tenant_id) -> str:
    return (f"<b>{html.escape(str(name))}</b><br><small><span style='color:#6c757d'>"
            f"{html.escape(str(domain))}</span><br>{_links_html(portal_links(tenant_id))}</small>")


class TenantsView(Viewer):
    """Thin view over TenantsViewModel."""

    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        self.table = table(self._shown(vm.frame), layout="fit_columns", widths=SHOWN, disabled=False,
                           buttons={"sync_now": "<button class='btn btn-sm btn-outline-primary'>Sync now</button>"},
                           editors={c: None for c in SHOWN if c not in ("synced", "sync_now")}
                           | {"synced": {"type": "tickCross"} if vm.may("sync_settings") else None},
                           formatters={"synced": {"type": "tickCross"}, "tenant": {"type": "html"},
                                       "last_error": {"type": "textarea"},
                                       "last_sync": {"type": "textarea"}},
                           titles=TITLES, hidden=["tenant_id"], css_classes=["m365-tenants"],
                           configuration=WRAP_HEADERS)
        vm.param.watch(lambda e: setattr(self.table, "value", self._shown(e.new)), "frame")
        self.table.on_edit(self._edited)
        self.table.on_click(self._clicked, column="sync_now")
        sync_all = pn.widgets.Button(name="Sync all now", button_type="primary",
                                     disabled=vm.param.busy, css_classes=["m365-sync-all"])
        sync_all.on_click(action(vm, vm.sync_now))
        self._layout = pn.Column(
            pn.pane.Markdown("## All Tenants"),
            pn.Row(sync_all, busy_bar(vm)), alerts(vm), self.table, sizing_mode="stretch_width")

    @staticmethod
    def _shown(frame):
        columns = ["tenant_id", *[c for c in SHOWN if c != "sync_now"]]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        df = frame.reset_index(drop=True)
        out = pd.DataFrame({"tenant_id": df["tenant_id"]})
        out["tenant"] = [_tenant_html(n, d, t) for n, d, t in
                         zip(df["display_name"], df["default_domain"], df["tenant_id"])]
        count = lambda col: df[col].fillna(0).astype(int)  # noqa: E731
        out["users_text"] = [f"{u:,} ({lic:,} lic.)" for u, lic in zip(count("users"), count("licensed_users"))]
        # Paid seats only: SKUs sold by the thousand (free, viral) would make "103 of 10,206".
        out["seats_text"] = [f"{c:,} of {t:,}" for c, t in zip(count("paid_consumed"),
                                                                 count("paid_total"))]
        out["seats_available"] = count("paid_total") - count("paid_consumed")
        out["skus_out_of_seats"] = df["skus_out_of_seats"]
        out["last_sync"] = [ts.strftime("%Y-%m-%d %H:%M") if pd.notna(ts) else "never"
                            for ts in pd.to_datetime(df["last_sync"], utc=True)]
        out["synced"] = df["synced"]
        out["last_error"] = df["last_error"].fillna("").astype(str)
        return out

    async def _edited(self, event) -> None:
        if event.column == "synced":
            row = self.table.value.iloc[event.row]
            await action(self.vm, self.vm.set_sync, row["tenant_id"], bool(event.value))()

    async def _clicked(self, event) -> None:
        await action(self.vm, self.vm.sync_now, self.table.value.iloc[event.row]["tenant_id"])()

    def __panel__(self):
        return self._layout
