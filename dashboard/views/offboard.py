"""Offboard User page: the toggles with what each would remove, and the Offboard User button."""
from __future__ import annotations

import html

import panel as pn
from panel.viewable import Viewer

from ..viewmodels.offboard import AUDIENCES, TOGGLES
from .common import (action, alerts, blockers_note, busy_bar, derived, plan_panel, table,
                     with_kind_labels)

HELP = {"delete": "removes all licenses, groups and directory roles, then deletes; restorable "
                  "for 30 days from the Activity page",
        "remove_licenses": "unassigns every license listed below",
        "remove_groups": "removes the user from every group listed below",
        "remove_roles": "removes every directory role listed below (admin rights end here)",
        "block_sign_in": "the user can no longer sign in",
        "revoke_sessions": "signs the user out of every app and device",
        "reset_password": "sets a new random password, shown once",
        "remove_mfa": "deletes every sign-in method but the password (phone, Authenticator, "
                      "FIDO2 keys, passes); the plan lists them",
        "auto_reply": "an out-of-office reply on the mailbox; {display_name} and {manager} are "
                      "filled in",
        "retire_devices": "retires the user's Intune devices (company data removed, no wipe); "
                          "the plan lists them",
        "hand_over_to_manager": "the manager becomes an owner of every group the user owns",
        "convert_to_shared": "keeps the mail without a license (up to 50 GB); done before the "
                             "licenses are removed",
        "mailbox_access": "opens the mailbox to the people below (Exchange Online)",
        "send_as": "lets the people below send mail as the user",
        "forward_to": "sends new mail on to the address below",
        "hide_from_address_lists": "the user no longer appears in the address book",
        "remove_distribution_lists": "takes the user out of every distribution list and "
                                     "mail-enabled security group listed above"}


def _mailbox_note(kind: str) -> str:
    if kind == "SharedMailbox":
        return "*The mailbox is already a shared mailbox.*"
    if kind:
        return "*A user mailbox (as of the last sync).*"
    return "*No mailbox seen at the last sync; the plan reads Exchange Online again.*"


class OffboardView(Viewer):
    def __init__(self, vm, open, **params):
        super().__init__(**params)
        self.vm = vm
        switches = {}
        for name, label in TOGGLES.items():
            switch = pn.widgets.Switch.from_param(vm.param[name], name="", width=50,
                                                  css_classes=[f"m365-toggle-{name}"])
            switches[name] = pn.Row(switch, pn.pane.Markdown(f"**{label}**: {HELP[name]}"))
        reply = pn.Column(
            pn.widgets.TextAreaInput.from_param(vm.param.auto_reply_text, name="Reply inside the "
                                                "organization", height=90, width=640,
                                                css_classes=["m365-auto-reply-text"],
                                                placeholder="{display_name} has left. Please "
                                                            "contact {manager}."),
            pn.widgets.TextAreaInput.from_param(vm.param.auto_reply_external, name="Reply outside "
                                                "(empty: the same text)", height=70, width=640),
            pn.widgets.Select.from_param(vm.param.auto_reply_audience, name="Who outside gets it",
                                         options={v: k for k, v in AUDIENCES.items()}, width=260),
            visible=vm.param.auto_reply, margin=(0, 0, 0, 60))
        def indented(*widgets, show):
            return pn.Column(*widgets, visible=show, margin=(0, 0, 0, 60))
        full_access = indented(
            pn.widgets.TextInput.from_param(vm.param.mailbox_access_to, name="Who gets Full Access "
                                            "(manager, or user names separated by ;)", width=460,
                                            css_classes=["m365-full-access-to"]),
            pn.widgets.Checkbox.from_param(vm.param.automapping, name="Show the mailbox in their "
                                           "Outlook (automapping)"),
            show=vm.param.mailbox_access)
        send_as = indented(
            pn.widgets.TextInput.from_param(vm.param.send_as_to, name="Who may send as the user "
                                            "(manager, or user names separated by ;)", width=460),
            show=vm.param.send_as)
        forward = indented(
            pn.widgets.TextInput.from_param(vm.param.forward_address, name="Forward to (an email "
                                            "address, or manager)", width=460,
                                            css_classes=["m365-forward-to"]),
            pn.widgets.Checkbox.from_param(vm.param.keep_copy, name="Keep a copy in the mailbox"),
            show=vm.param.forward_to)
        mailbox_note = pn.pane.Markdown(pn.bind(_mailbox_note, vm.param.mailbox_type),
                                        styles={"color": "#6c757d"})
        when = pn.widgets.DatetimePicker.from_param(
            vm.param.offboard_at, name="Offboard at (your time); empty: now",
            width=320, allow_input=True, css_classes=["m365-offboard-at"])
        zone_note = pn.pane.Markdown(
            pn.bind(lambda tz: f"*Your time zone: {tz}. The plan shows the time in UTC too.*",
                    vm.param.timezone), styles={"color": "#6c757d"}, css_classes=["m365-zone"])
        self._follow_browser_time_zone()
        save_defaults = pn.widgets.Button(name="Save as this tenant's defaults", button_type="light",
                                          visible=vm.may("offboard"),
                                          css_classes=["m365-save-defaults"])
        save_defaults.on_click(lambda _e: vm.save_defaults())
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
            pn.pane.Markdown(vm.param.defaults_note, styles={"color": "#6c757d"}),
            pn.pane.Markdown("### Offboard User"), switches["delete"],
            pn.pane.Markdown("### Assigned licenses"), switches["remove_licenses"],
            table(vm.param.licenses, page_size=20, pager=False, empty="No licenses",
                  titles={"product_name": "License", "source": "Assigned"},
                  css_classes=["m365-offboard-licenses"]),
            pn.pane.Markdown("### Groups"), switches["remove_groups"],
            switches["hand_over_to_manager"],
            table(pn.bind(with_kind_labels, vm.param.groups), page_size=20, pager=False, empty="In no groups",
                  titles={"display_name": "Group", "kind": "Kind"},
                  css_classes=["m365-offboard-groups"]),
            pn.pane.Markdown("### Directory roles"), switches["remove_roles"],
            table(vm.param.roles, page_size=20, pager=False, titles={"display_name": "Role"},
                  empty="No directory roles",
                  css_classes=["m365-offboard-roles"]),
            pn.pane.Markdown("### Access"),
            *[switches[k] for k in ("block_sign_in", "revoke_sessions", "reset_password",
                                    "remove_mfa", "retire_devices")],
            pn.pane.Markdown("### Mailbox (Exchange Online)"), mailbox_note,
            switches["convert_to_shared"], switches["mailbox_access"], full_access,
            switches["send_as"], send_as, switches["forward_to"], forward,
            switches["hide_from_address_lists"], switches["remove_distribution_lists"],
            switches["auto_reply"], reply,
            pn.pane.Markdown("### When"), when, zone_note,
            pn.Row(button, back, save_defaults), blockers_note(vm.blockers),
            sizing_mode="stretch_width")

    def _follow_browser_time_zone(self) -> None:
        """"Offboard at" is read in the viewer's time zone, which the browser reports. The
        session's browser info exists only once the page is in the browser, hence onload."""
        def follow():
            info = getattr(pn.state, "browser_info", None)
            if info is None:
                return
            if getattr(info, "timezone", None):
                self.vm.timezone = info.timezone
            info.param.watch(lambda e: setattr(self.vm, "timezone", e.new or "UTC"), "timezone")
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(follow)
        else:
            follow()

    def __panel__(self):
        return self._layout
