"""Activity page: the audit log (filter, export) and deleted users with Restore."""
from __future__ import annotations

import panel as pn
from panel.viewable import Viewer

from .common import action, alerts, busy_bar, csv_download, header_filters, plan_panel, table

OUTCOMES = ["", "done", "partial", "failed", "denied", "refused"]


class ActivityView(Viewer):
    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        tenant = pn.widgets.Select.from_param(vm.param.tenant, name="Tenant", width=240)
        kind = pn.widgets.Select(name="Action", options=vm.actions(), width=160)
        kind.link(vm, value="action")
        outcome = pn.widgets.Select(name="Outcome", options=OUTCOMES, width=120)
        outcome.link(vm, value="outcome")
        search = pn.widgets.TextInput(name="Actor or user", width=240)
        search.param.watch(lambda e: setattr(vm, "search", e.new), "value_input")
        export = csv_download(vm.export_csv, "audit-log.csv", "Export CSV")
        restore = ({"restore": "<button class='btn btn-sm btn-outline-success'>Restore</button>"}
                   if vm.may("restore") else {})
        self.deleted = table(vm.param.deleted, hidden=["tenant_id", "id"], buttons=restore,
                             titles={"tenant": "Tenant", "display_name": "Name",
                                     "user_principal_name": "Sign-in name", "deleted": "Deleted",
                                     "days_left": "Days left", "restorable": "Restorable",
                                     "restore": ""}, css_classes=["m365-deleted"],
                             formatters={"restorable": {"type": "tickCross"}},
                             frozen_columns=["restore"] if restore else [],
                             empty="No deleted users")
        if restore:
            async def restore_clicked(event):
                await action(vm, vm.restore, event.row)()
            self.deleted.on_click(restore_clicked, column="restore")
        refresh = pn.widgets.Button(name="Refresh", button_type="light")
        refresh.on_click(action(vm, vm.refresh))
        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown("## Activity"), pn.layout.HSpacer(), refresh, export),
            busy_bar(vm), alerts(vm), plan_panel(vm),
            pn.Row(tenant, kind, outcome, search),
            table(vm.param.entries, remote=True, layout="fit_columns", css_classes=["m365-audit"],
                  header_filters=header_filters(["actor", "tenant", "user", "action", "outcome"]),
                  titles={"time": "Time (UTC)", "actor": "Who", "role": "Role",
                          "tenant": "Tenant", "user": "User", "action": "Action",
                          "outcome": "Outcome", "detail": "What happened"},
                  formatters={"time": {"type": "textarea"}, "detail": {"type": "textarea"}},
                  widths={"time": 110, "role": 90, "outcome": 100, "detail": 420},
                  empty="No activity matches these filters"),
            pn.pane.Markdown("### Deleted users (restorable for 30 days)"), self.deleted,
            sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
