"""Offboard User page: the toggles with what each would remove, and the Offboard User button."""
from __future__ import annotations

import html

import panel as pn
from panel.viewable import Viewer

from ..viewmodels.offboard import TOGGLES
from .common import (action, alerts, blockers_note, busy_bar, derived, plan_panel, table,
                     with_kind_labels)

HELP = {"delete": "removes all licenses, groups and directory roles, then deletes; restorable "
                  "for 30 days from the Activity page",
        "remove_licenses": "unassigns every license listed below",
        "remove_groups": "removes the user from every group listed below",
        "remove_roles": "removes every directory role listed below (admin rights end here)",
        "block_sign_in": "the user can no longer sign in",
        "revoke_sessions": "signs the user out of every app and device",
        "reset_password": "sets a new random password, shown once"}


class OffboardView(Viewer):
    def __init__(self, vm, open, **params):
        super().__init__(**params)
        self.vm = vm
        switches = []
        for name, label in TOGGLES.items():
            switch = pn.widgets.Switch.from_param(vm.param[name], name="", width=50,
                                                  css_classes=[f"m365-toggle-{name}"])
            switches.append(pn.Row(switch, pn.pane.Markdown(f"**{label}**: {HELP[name]}")))
        button = pn.widgets.Button(name="Offboard User", button_type="danger",
                                   disabled=derived(vm.blockers),
                                   css_classes=["m365-offboard-button"])
        button.on_click(action(vm, vm.offboard))
        back = pn.widgets.Button(name="Back to user", button_type="light")
        back.on_click(lambda _e: open("user", vm.tenant, vm.user))
        password = pn.bind(lambda p: pn.pane.Alert(f"New password, shown only now: **`{p}`**",
                                                   alert_type="info") if p else
                           pn.Column(height=0, margin=0), vm.param.new_password)
        self._layout = pn.Column(
            pn.pane.HTML(pn.bind(lambda upn: f"<h2>Offboard {html.escape(upn)}</h2>",
                                 vm.param.user_principal_name)),
            busy_bar(vm), alerts(vm), pn.panel(password), plan_panel(vm),
            pn.pane.Markdown("### Offboard User"), switches[0],
            pn.pane.Markdown("### Assigned licenses"), switches[1],
            table(vm.param.licenses, page_size=20, pager=False, empty="No licenses",
                  titles={"product_name": "License", "source": "Assigned"},
                  css_classes=["m365-offboard-licenses"]),
            pn.pane.Markdown("### Groups"), switches[2],
            table(pn.bind(with_kind_labels, vm.param.groups), page_size=20, pager=False, empty="In no groups",
                  titles={"display_name": "Group", "kind": "Kind"},
                  css_classes=["m365-offboard-groups"]),
            pn.pane.Markdown("### Directory roles"), switches[3],
            table(vm.param.roles, page_size=20, pager=False, titles={"display_name": "Role"},
                  empty="No directory roles",
                  css_classes=["m365-offboard-roles"]),
            pn.pane.Markdown("### Access"), *switches[4:],
            pn.Row(button, back), blockers_note(vm.blockers), sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
