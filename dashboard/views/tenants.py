"""All Tenants page: tenant figures, sync switch per tenant, sync now, portal links."""
from __future__ import annotations

import html

import panel as pn
from panel.viewable import Viewer

from ..viewmodels.tenants import portal_links
from .common import alerts, busy_bar, in_background, table


def _links_html(links: dict[str, str]) -> str:
    return " · ".join(f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">'
                      f'{html.escape(name)}</a>' for name, url in links.items())


class TenantsView(Viewer):
    """Thin view over TenantsViewModel."""

    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        self.table = table(self._shown(vm.frame), layout="fit_data_stretch", disabled=False,
                           buttons={"sync_now": "<button class='btn btn-sm btn-outline-primary'>Sync now</button>"},
                           editors={c: None for c in ("display_name", "default_domain", "last_sync",
                                                     "users", "licensed_users", "seats_total",
                                                     "seats_consumed", "seats_available",
                                                     "skus_out_of_seats", "portals", "last_error")}
                           | {"synced": {"type": "tickCross"} if vm.may("sync_settings") else None},
                           formatters={"synced": {"type": "tickCross"}, "portals": {"type": "html"}},
                           titles={"display_name": "Tenant", "default_domain": "Domain",
                                   "synced": "Sync on", "last_sync": "Last sync",
                                   "licensed_users": "Licensed", "seats_total": "Seats",
                                   "seats_consumed": "Used", "seats_available": "Left",
                                   "skus_out_of_seats": "SKUs out of seats", "portals": "Admin portals",
                                   "last_error": "Last error", "sync_now": ""},
                           hidden=["tenant_id"], css_classes=["m365-tenants"])
        vm.param.watch(lambda e: setattr(self.table, "value", self._shown(e.new)), "frame")
        self.table.on_edit(self._edited)
        self.table.on_click(self._clicked, column="sync_now")
        sync_all = pn.widgets.Button(name="Sync all now", button_type="primary",
                                     disabled=vm.param.busy, css_classes=["m365-sync-all"])
        sync_all.on_click(in_background(vm, vm.sync_now))
        self._layout = pn.Column(
            pn.pane.Markdown("## All Tenants"),
            pn.Row(sync_all, busy_bar(vm)), alerts(vm), self.table, sizing_mode="stretch_width")

    @staticmethod
    def _shown(frame):
        df = frame.copy()
        if df.empty:
            return df.assign(portals=[])
        df["last_sync"] = df["last_sync"].astype(str).str.slice(0, 19).str.replace("NaT", "never")
        df["last_error"] = df["last_error"].fillna("").astype(str)
        df["portals"] = [_links_html(portal_links(t)) for t in df["tenant_id"]]
        return df

    def _edited(self, event) -> None:
        if event.column == "synced":
            row = self.table.value.iloc[event.row]
            in_background(self.vm, self.vm.set_sync, row["tenant_id"], bool(event.value))()

    def _clicked(self, event) -> None:
        in_background(self.vm, self.vm.sync_now, self.table.value.iloc[event.row]["tenant_id"])()

    def __panel__(self):
        return self._layout
