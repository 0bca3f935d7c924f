"""Create User / Edit User: the three tabs and their exact buttons, bound to UserFormViewModel."""
from __future__ import annotations

import html

import panel as pn
from panel.viewable import Viewer

from ..viewmodels.base import FIELD_LABELS
from ..viewmodels.form_options import EXCHANGE_KINDS
from ..viewmodels.user_form import TABS
from .common import (CARD_STYLES, action, alerts, blockers_note, busy_bar, derived, dialog_styles,
                     plan_panel, table, with_kind_labels)

# The form's labels are the names its messages use (viewmodels.base.FIELD_LABELS), with hints.
WIDGET_LABELS = {**FIELD_LABELS, "usage_location": "Usage location (e.g. US, GB)"}
FIRST_SIGN_IN = {"Password": "password", "Temporary Access Pass": "temporary_access_pass"}
NOT_YET = ("*Not created yet: what you pick here is given to the user when you create them "
           "(Create User on the User Details tab).*")


def _problem(vm, *fields):
    """The message of the last plan's problem for these fields, in red under the field."""
    def render(problems):
        text = " ".join(problems[f] for f in fields if f in problems)
        return pn.pane.Markdown(text, styles={"color": "#b00020"}, margin=(0, 10),
                                css_classes=["m365-field-problem"]) if text else pn.Column(height=0, margin=0)
    return pn.panel(pn.bind(render, vm.param.problems))


def _synced_note(read_only: dict) -> str:
    """Why some fields are greyed out, naming them as the form labels them."""
    if not read_only:
        return ""
    shown = [WIDGET_LABELS.get(f, f) for f in read_only if f in WIDGET_LABELS
             and f not in ("user_principal_name", "password")]
    return ("This user is synced from on-premises Active Directory: " + ", ".join(shown)
            + " are changed there, and the next sync would undo a change made here. Usage "
            "location, licenses and groups can be changed here.")


def _password_notice(password: str):
    """The generated password, once, as escaped text: Markdown would eat characters such as
    `*`, `_` or a backtick and show a different password than the one set."""
    if not password:
        return pn.Column(height=0, margin=0)
    return pn.pane.HTML(
        "<div class='alert alert-info' role='alert'>Generated password, shown only now: "
        f"<code class='m365-password-value' style='font-size:1.1em;user-select:all'>"
        f"{html.escape(password)}</code> (copy it; the user changes it at first sign-in)</div>",
        css_classes=["m365-password"], sizing_mode="stretch_width")


def _pass_notice(tap: str):
    """The Temporary Access Pass, once, escaped like the password."""
    if not tap:
        return pn.Column(height=0, margin=0)
    return pn.pane.HTML(
        "<div class='alert alert-info' role='alert'>Temporary Access Pass, shown only now: "
        f"<code class='m365-tap-value' style='font-size:1.1em;user-select:all'>"
        f"{html.escape(tap)}</code> (give it to the user for their first sign-in, where they "
        "set up their sign-in methods; it cannot be shown again)</div>",
        css_classes=["m365-tap"], sizing_mode="stretch_width")


def _secret_close(vm):
    """After Create User and Close made a password or pass: close once it is copied."""
    done = pn.widgets.Button(name="I have copied it: Close", button_type="primary",
                             css_classes=["m365-secret-close"],
                             visible=vm.param.secret_close_pending)
    done.on_click(lambda _e: vm.close_after_secret())
    return done


def person_picker(vm, param_name: str, label: str, css: str, width: int = 420):
    """A search of the tenant's users: every name in the browser for a tenant of up to
    ALL_PEOPLE_LIMIT users, else the matches of what is typed, asked of the view model."""
    box = pn.widgets.AutocompleteInput.from_param(
        vm.param[param_name], name=label, options=list(vm.people_options), restrict=False,
        case_sensitive=False, search_strategy="includes", min_characters=2, width=width,
        placeholder="Type part of a name or sign-in name", css_classes=[css],
        disabled=pn.bind(lambda ro: param_name in ro, vm.param.read_only))
    vm.param.watch(lambda e: setattr(box, "options", list(e.new)), "people_options")

    def narrow(event):
        if vm.people_narrowed:
            box.options = vm.people_matching(event.new)
    box.param.watch(narrow, "value_input")
    return box


def _leave_dialog(vm):
    """Asks before unsaved changes are dropped (Cancel, or another page picked)."""
    discard = pn.widgets.Button(name="Discard changes", button_type="danger",
                                css_classes=["m365-discard-changes"])
    keep = pn.widgets.Button(name="Keep editing", button_type="primary",
                             css_classes=["m365-keep-editing"])
    discard.on_click(lambda _e: vm.discard_and_leave())
    keep.on_click(lambda _e: vm.keep_editing())
    question = pn.pane.Markdown(pn.bind(lambda asking: "### Discard unsaved changes?\nNot saved "
                                        f"yet: {vm.pending_summary() or 'what you typed for the new user'}."
                                        if asking else "", vm.param.leave_pending))
    card = pn.Column(question, pn.Row(keep, discard), width=520, styles=CARD_STYLES,
                     css_classes=["m365-leave"])
    return pn.Column(card, css_classes=["m365-leave-dialog"],
                     styles=pn.bind(dialog_styles, vm.param.leave_pending))


class UserFormView(Viewer):
    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        self.tabs = pn.Tabs(("User Details", self._details()), ("Roles & Licenses", self._access()),
                            ("Groups", self._groups()), dynamic=False, sizing_mode="stretch_width",
                            css_classes=["m365-wizard-tabs"])
        order = list(TABS)
        self.tabs.active = order.index(vm.tab)
        vm.param.watch(lambda e: setattr(self.tabs, "active", order.index(e.new)), "tab")
        self.tabs.param.watch(lambda e: setattr(vm, "tab", order[e.new]), "active")
        title = pn.bind(lambda mode, uid: "## Edit User" if mode == "edit" else
                        ("## Create User (created: add roles, licenses and groups)" if uid
                         else "## Create User"), vm.param.mode, vm.param.user_id)
        password = pn.Column(pn.bind(_password_notice, vm.param.generated_password),
                             pn.bind(_pass_notice, vm.param.temporary_access_pass),
                             _secret_close(vm), sizing_mode="stretch_width")
        unsaved = pn.pane.Markdown(derived(vm.has_unsaved, lambda yes: (
            f"*Unsaved changes: {vm.pending_summary() or 'the new user'}. Save (on any tab) "
            "shows them all in one plan.*" if yes else "")), css_classes=["m365-unsaved"],
            styles={"color": "#8a5300"})
        self._layout = pn.Column(pn.pane.Markdown(title), busy_bar(vm), alerts(vm),
                                 password, unsaved, plan_panel(vm), _leave_dialog(vm),
                                 self.tabs, sizing_mode="stretch_width")

    def _text(self, name, **kw):
        # A field Active Directory owns is shown greyed out; the note above the fields says why.
        kw.setdefault("disabled", pn.bind(lambda ro: name in ro, self.vm.param.read_only))
        label = kw.pop("label", WIDGET_LABELS.get(name, name))
        kw.setdefault("css_classes", [f"m365-field-{name}"])
        return pn.widgets.TextInput.from_param(self.vm.param[name], name=label, **kw)

    def _details(self):
        vm = self.vm
        tenant = pn.widgets.Select.from_param(vm.param.tenant, name="Tenant", width=320,
                                              disabled=pn.bind(lambda m, u: m == "edit" or bool(u),
                                                               vm.param.mode, vm.param.user_id))
        domain = pn.widgets.Select.from_param(vm.param.domain, name="Domain", width=280,
                                              disabled=pn.bind(lambda ro: "domain" in ro,
                                                               vm.param.read_only))
        creating = pn.bind(lambda uid: not uid, vm.param.user_id)
        template = pn.widgets.Select.from_param(vm.param.template, name="Template", width=320,
                                                css_classes=["m365-template"], visible=creating)
        note = pn.pane.Markdown(vm.param.template_note, css_classes=["m365-template-note"],
                                sizing_mode="stretch_width", visible=creating)
        labels = pn.bind(lambda uid: ("Save and Close", "Save and Continue") if uid
                         else ("Create User and Close", "Create User and Continue"), vm.param.user_id)
        disabled = derived(vm.details_blockers)
        close = pn.widgets.Button(name=pn.bind(lambda l: l[0], labels), button_type="primary",
                                  disabled=disabled, css_classes=["m365-details-close"])
        cont = pn.widgets.Button(name=pn.bind(lambda l: l[1], labels), button_type="primary",
                                 disabled=disabled, css_classes=["m365-details-continue"])
        cancel = pn.widgets.Button(name="Cancel", button_type="light", css_classes=["m365-cancel"])
        close.on_click(action(vm, vm.submit_details, "close"))
        cont.on_click(action(vm, vm.submit_details, "continue"))
        cancel.on_click(lambda _e: vm.cancel())
        synced = pn.pane.Alert(pn.bind(_synced_note, vm.param.read_only), alert_type="info",
                               visible=pn.bind(bool, vm.param.read_only),
                               css_classes=["m365-synced-note"], sizing_mode="stretch_width")
        return pn.Column(
            pn.Row(tenant, template), _problem(vm, "tenant", "template"), note,
            # What a template gives (licenses, groups, roles) is checked when the user is created.
            _problem(vm, "licenses", "groups", "roles"), synced,
            pn.Row(self._text("given_name"), self._text("surname"), self._text("display_name")),
            _problem(vm, "given_name", "surname", "display_name"),
            pn.Row(self._text("username"), pn.pane.Markdown("**@**", margin=(30, 0, 0, 0)), domain),
            _problem(vm, "username", "domain", "user_principal_name"),
            self._first_sign_in(creating),
            pn.Row(self._text("usage_location"), self._text("job_title"), self._text("department")),
            _problem(vm, "usage_location", "job_title", "department"),
            pn.Row(self._text("office_location"), self._text("business_phone"),
                   self._text("mobile_phone")),
            _problem(vm, "office_location", "business_phone", "mobile_phone"),
            person_picker(vm, "manager", WIDGET_LABELS["manager"], "m365-field-manager"),
            _problem(vm, "manager", "changes", "options"),
            pn.Row(close, cont, cancel), blockers_note(vm.details_blockers),
            sizing_mode="stretch_width")

    def _first_sign_in(self, creating):
        """Password (generated or typed) or a Temporary Access Pass, for a new user."""
        vm = self.vm
        choice = pn.widgets.RadioButtonGroup.from_param(vm.param.first_sign_in, name="First sign-in",
                                                        options=FIRST_SIGN_IN, button_type="light",
                                                        css_classes=["m365-first-sign-in"])
        with_password = pn.bind(lambda c: c == "password", vm.param.first_sign_in)
        generate = pn.widgets.Checkbox.from_param(vm.param.generate_password,
                                                  name="Generate a password")
        typed = pn.widgets.PasswordInput.from_param(
            vm.param.password, name="Password",
            visible=pn.bind(lambda g, p: p and not g, vm.param.generate_password, with_password))
        force = pn.widgets.Checkbox.from_param(vm.param.force_change_password,
                                               name="Change password at next sign-in")
        minutes = pn.widgets.IntInput.from_param(
            vm.param.tap_lifetime_minutes, name=WIDGET_LABELS["tap_lifetime_minutes"], width=220,
            placeholder="the tenant's default", css_classes=["m365-field-tap_lifetime_minutes"])
        once = pn.widgets.Checkbox.from_param(vm.param.tap_usable_once, align="end",
                                              name=WIDGET_LABELS["tap_usable_once"],
                                              margin=(0, 10, 18, 10))
        tap_note = pn.pane.Markdown("*The user signs in once with the pass and sets up their "
                                    "sign-in methods; their password is random and shown to no "
                                    "one.*", sizing_mode="stretch_width")
        return pn.Column(
            pn.Row(pn.pane.Markdown("**First sign-in**", align="center"), choice),
            pn.Column(pn.Row(generate, force), typed, visible=with_password),
            pn.Column(pn.Row(minutes, once), tap_note,
                      visible=pn.bind(lambda p: not p, with_password)),
            _problem(vm, "password", "first_sign_in", "tap_lifetime_minutes", "tap_usable_once"),
            visible=creating, sizing_mode="stretch_width")

    def _choices(self, options_param, chosen: str, key: str, label, pick, css: str):
        """Checkboxes for the options that can be picked; the table beside lists every option,
        including the locked ones with the reason (no seats left, dynamic group, ...)."""
        vm = self.vm
        box = pn.widgets.CheckBoxGroup(inline=False, css_classes=[css])

        def options(*_):
            df = getattr(vm, options_param)
            ok = df[df["selectable"]] if "selectable" in df else df
            box.options = {label(r): r[key] for r in ok.to_dict("records")}
            box.value = [v for v in getattr(vm, chosen) if v in box.options.values()]

        def to_vm(event):
            if sorted(event.new) != sorted(getattr(vm, chosen)):
                pick(list(event.new))

        vm.param.watch(options, [options_param, chosen])
        box.param.watch(to_vm, "value")
        options()
        return box

    def _access(self):
        vm = self.vm
        seats = lambda r: (f"{r['product_name']}: {r['used']} of {r['purchased']} used, "  # noqa: E731
                           f"{r['left']} left" + (f" ({r['note']})" if r["note"] else ""))
        licenses = self._choices("license_options", "licenses", "sku_part_number", seats,
                                 vm.pick_licenses, "m365-license-choices")
        roles = self._choices("role_options", "roles", "role_definition_id",
                              lambda r: r["display_name"], lambda v: setattr(vm, "roles", v),
                              "m365-role-choices")
        table_ = table(vm.param.license_options, page_size=25, hidden=["sku_id", "selectable"],
                       layout="fit_data_stretch", formatters={"note": {"type": "textarea"}},
                       widths={"note": 300}, titles={"product_name": "License", "sku_part_number": "SKU",
                               "used": "Seats used", "purchased": "Purchased", "left": "Left",
                               "note": ""}, css_classes=["m365-licenses"])
        table_.style.apply(lambda r: ["color: #9a9a9a" if not r["selectable"] else ""] * len(r), axis=1)
        disabled = derived(vm.save_blockers)
        close = pn.widgets.Button(name="Save and Close", button_type="primary", disabled=disabled,
                                  css_classes=["m365-access-close"])
        cont = pn.widgets.Button(name="Save and Continue", button_type="primary", disabled=disabled,
                                 css_classes=["m365-access-continue"])
        close.on_click(action(vm, vm.save_access, "close"))
        cont.on_click(action(vm, vm.save_access, "continue"))
        return pn.Column(
            pn.pane.Markdown("Nothing here is changed until you save; the save shows its changes first."),
            pn.pane.Markdown(NOT_YET, visible=pn.bind(lambda u: not u, vm.param.user_id)),
            pn.pane.Markdown("### Licenses"),
            # The table under the picks, at full width: beside them, its seat columns and
            # reasons were scrolled out of sight on a 1280-pixel screen.
            pn.pane.Markdown("**Pick** (SKUs with seats left)"), licenses,
            pn.pane.Markdown("**Every SKU of the tenant**"), table_,
            # A license needs a usage location: the field is offered here, where the error is,
            # rather than on the first tab (it is the same field, saved with the licenses).
            pn.Column(self._text("usage_location", label="Usage location, needed for a license "
                                 "(two letters, e.g. US, GB)", width=360,
                                 css_classes=["m365-usage-location-for-license"]),
                      visible=derived(vm.needs_usage_location),
                      css_classes=["m365-usage-location-here"]),
            _problem(vm, "add_licenses", "remove_licenses", "usage_location"),
            pn.pane.Markdown("### Directory roles"),
            pn.Column(roles, height=220, scroll=True, width=420), _problem(vm, "add_roles", "remove_roles"),
            pn.Row(close, cont), blockers_note(vm.save_blockers), sizing_mode="stretch_width")

    def _groups(self):
        vm = self.vm
        groups = self._choices("group_options", "groups", "id",
                               lambda r: r["display_name"] + (" (Team)" if r["is_team"] else "")
                               + (f" ({EXCHANGE_KINDS[r['kind']]})" if r["kind"] in EXCHANGE_KINDS
                                  else "")
                               + (f", apps: {r['apps']}" if r["apps"] else ""),
                               vm.pick_groups, "m365-group-choices")
        # Under the picks at full width, the reason wrapping: beside them, the reason a group
        # is locked was scrolled out of sight on a 1280-pixel screen.
        # The note wraps in 280 pixels: at 360 it ran off a 1280-pixel screen. (Fitting the
        # columns to the page instead laid the table out in the hidden tab, squeezed.)
        table_ = table(pn.bind(with_kind_labels, vm.param.group_options), page_size=25,
                       hidden=["id", "selectable"], layout="fit_data_stretch",
                       formatters={"is_team": {"type": "tickCross"}, "note": {"type": "textarea"}},
                       widths={"note": 280},
                       titles={"display_name": "Group", "kind": "Kind", "is_team": "Team",
                               "apps": "Apps", "note": "Note"},
                       css_classes=["m365-groups"])
        table_.style.apply(lambda r: ["color: #9a9a9a" if not r["selectable"] else ""] * len(r), axis=1)
        save = pn.widgets.Button(name="Save and Close", button_type="primary",
                                 disabled=derived(vm.save_blockers),
                                 css_classes=["m365-groups-close"])
        save.on_click(action(vm, vm.save_groups))
        copy_from = person_picker(vm, "copy_groups_from", WIDGET_LABELS["copy_groups_from"],
                                  "m365-copy-groups-from", width=360)
        copy = pn.widgets.Button(name="Add their groups", button_type="light", align="end",
                                 css_classes=["m365-copy-groups"])
        copy.on_click(action(vm, vm.copy_groups))
        return pn.Column(
            pn.pane.Markdown("Distribution lists and mail-enabled security groups are changed in "
                             "Exchange Online. Groups that cannot be changed here (dynamic groups, "
                             "groups synced from on-premises, distribution lists when the tenant's "
                             "access does not allow Exchange Online) are listed in grey with the "
                             "reason, and cannot be picked."),
            pn.pane.Markdown(NOT_YET, visible=pn.bind(lambda u: not u, vm.param.user_id)),
            pn.Row(copy_from, copy), _problem(vm, "copy_groups_from"),
            pn.pane.Markdown("**Member of**"),
            pn.Column(groups, max_height=320, scroll=True, sizing_mode="stretch_width"),
            pn.pane.Markdown("**Every group of the tenant**"), table_,
            _problem(vm, "add_groups", "remove_groups"), save,
            blockers_note(vm.save_blockers), sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
