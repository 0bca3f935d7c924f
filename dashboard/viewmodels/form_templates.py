"""What Create User / Edit User add on top of the plain form: the onboarding template picker,
the first sign-in (password or Temporary Access Pass), the manager, and "Copy groups from user".

`OnboardingChoices` is a mixin of `UserFormViewModel` (it uses that class's fields, options and
`pick_licenses` / `pick_groups`). Rules it keeps:

- Picking a template fills the form: its user fields, domain, user name (built from the first
  and last name with the template's format, until typed over), licenses, groups and roles.
  What the technician typed or picked wins: a field takes the template's value only when it is
  empty or still holds what the previous template put there; list items the previous template
  added leave, the technician's own stay. The plan gets `template=<name>`, or `template=False`
  for "No template", so services never apply a default the technician turned off.
- A Temporary Access Pass, like a generated password, is shown once after the apply and is
  dropped from the view model when the form is loaded again or closed.
- The manager is compared with the one the user had when the form loaded: clearing the field
  sends {"manager": None} only when there was one.
"""
from __future__ import annotations

import re

import pandas as pd
import param

from services.errors import GraphError, M365DashError
from services.workflows.onboarding import username_from
from services.workflows.templating import NO_TEMPLATE

from .base import FIELD_LABELS, error_text
from .listing_cache import user_listing

# The form's own words for the fields these features add (plan problems name them so).
FIELD_LABELS.update({"template": "Template", "first_sign_in": "First sign-in",
                     "tap_lifetime_minutes": "Pass valid for (minutes)",
                     "tap_usable_once": "One-time use", "copy_groups_from": "Copy groups from user",
                     "company_name": "Company", "street_address": "Street address", "city": "City",
                     "state": "State or province", "postal_code": "Postal code",
                     "country": "Country or region", "username_format": "Username format"})

# Template fields the User Details tab shows (the rest go to the plan from the template itself).
FORM_FIELDS = ("usage_location", "department", "job_title", "office_location")
OFF_FORM_FIELDS = ("company_name", "street_address", "city", "state", "postal_code", "country")
# A tenant with up to this many users gets every name in the pickers at once (the browser
# filters them as the person types); a bigger one gets the matches of what is typed.
ALL_PEOPLE_LIMIT = 2000
MATCHES_SHOWN = 50
_LABEL_UPN = re.compile(r"\(([^()\s]+@[^()\s]+)\)\s*$")


def person_label(display_name, upn) -> str:
    """How a picker lists a person: 'Ana Ruiz (ana.ruiz@contoso.com)'."""
    name = "" if display_name is None or pd.isna(display_name) else str(display_name).strip()
    return f"{name} ({upn})" if name else str(upn)


def upn_in(text: str) -> str:
    """The sign-in name in a picker's text: the one in brackets of a listed person, else the
    text as typed (a user principal name or an object id)."""
    text = str(text or "").strip()
    found = _LABEL_UPN.search(text)
    return found.group(1) if found else text


class OnboardingChoices(param.Parameterized):
    """Template, first sign-in, manager and copy-groups state of the user form."""

    template = param.Selector(default=NO_TEMPLATE, objects={"No template": NO_TEMPLATE},
                              check_on_set=False, doc="The onboarding template the new user is "
                              "made from: it fills the fields, licenses, groups and roles below "
                              "(what you change wins). The tenant's default template is picked "
                              "when the form opens; 'No template' for none.")
    template_note = param.String(default="", doc="What the picked template filled, and what it "
                                 "gives that the form does not show (company, address).")
    first_sign_in = param.Selector(default="password", objects=["password", "temporary_access_pass"],
                                   doc="How the new user signs in the first time: a password, "
                                       "or a Temporary Access Pass (to register MFA).")
    tap_lifetime_minutes = param.Integer(default=None, allow_None=True, doc="How long the "
                                         "Temporary Access Pass is valid, in minutes; empty for "
                                         "the tenant policy's default.")
    tap_usable_once = param.Boolean(default=True, doc="The Temporary Access Pass works for one "
                                                      "sign-in only.")
    temporary_access_pass = param.String(default="", doc="The pass created with the user; shown "
                                         "once, cleared when the form is loaded again or closed.")
    secret_close_pending = param.Boolean(default=False, doc="True after Create User and Close "
                                         "made a password or pass: the form stays open showing it "
                                         "until the technician closes it.")
    manager = param.String(default="", doc="The manager: a person picked from the tenant's users "
                                           "('Name (sign-in name)') or a typed sign-in name.")
    people_options = param.List(default=[], item_type=str, doc="People the Manager and Copy "
                                "groups pickers offer: every user of the tenant, or none for a "
                                "tenant too big to send (the pickers then ask people_matching).")
    copy_groups_from = param.String(default="", doc="The user whose groups 'Copy groups from "
                                                    "user' adds to the selection.")

    def __init__(self, **params):
        super().__init__(**params)
        self._reset_choices()
        self.param.watch(lambda *_events: self._derive_username(), ["given_name", "surname"])

    def _reset_choices(self) -> None:
        """Forget what a previous template filled and the manager the last user had."""
        self._from_template: dict = {}
        self._auto_username = ""
        self._username_format = ""
        self._domain_set = ""
        self._had_manager: dict | None = None
        self._manager_known = True
        self._people = pd.DataFrame(columns=["label", "upn", "key"])

    # ---- people (manager, copy groups from) -----------------------------------------------------

    def load_people(self) -> None:
        """The tenant's users for the pickers (the shared All Users listing, no extra read)."""
        frame = user_listing(self.m365).frame
        mine = frame[frame["tenant_id"].astype(str) == str(self.tenant)]
        labels = [person_label(n, u) for n, u in zip(mine["display_name"], mine["user_principal_name"])]
        self._people = pd.DataFrame({"label": labels, "upn": mine["user_principal_name"].astype(str)})
        self._people["key"] = self._people["label"].str.lower()
        self.people_options = sorted(labels, key=str.lower) if len(labels) <= ALL_PEOPLE_LIMIT else []

    @property
    def people_narrowed(self) -> bool:
        """True when the tenant is too big to list: pickers show people_matching(typed text)."""
        return len(self._people) > ALL_PEOPLE_LIMIT

    def people_matching(self, text: str) -> list[str]:
        """Up to MATCHES_SHOWN people whose name or sign-in name contains `text`."""
        text = str(text or "").strip().lower()
        if len(text) < 2:
            return []
        hits = self._people[self._people["key"].str.contains(text, regex=False)]
        return sorted(hits["label"].head(MATCHES_SHOWN), key=str.lower)

    def _person(self, text: str) -> str:
        """The sign-in name for a picker's text; a name typed in full that matches exactly one
        person of the tenant counts as picking them."""
        upn = upn_in(text)
        if "@" not in upn and upn:
            same = self._people[self._people["label"].str.lower().str.startswith(upn.lower() + " (")]
            if len(same) == 1:
                return str(same["upn"].iloc[0])
        return upn

    @property
    def manager_upn(self) -> str:
        return self._person(self.manager)

    def load_manager(self, user_id: str) -> None:
        """The user's current manager, read live, into the Manager field (edit)."""
        try:
            found = self.m365.manager_of(self.tenant, user_id)
        except (GraphError, M365DashError, ValueError) as exc:
            self._had_manager, self._manager_known = None, False
            self.alert("warning", f"Manager could not be read: {error_text(exc)}. Saving changes "
                                  "the manager only if you pick one.")
            return
        self._had_manager, self._manager_known = found, True
        self.manager = person_label(found["display_name"], found["user_principal_name"]) if found else ""

    def manager_change(self) -> dict:
        """{"manager": sign-in name}, {"manager": None} (cleared, and there was one) or {}."""
        wanted = self.manager_upn
        had = str((self._had_manager or {}).get("user_principal_name") or "")
        if not self._manager_known:
            return {"manager": wanted} if wanted else {}
        if wanted.lower() == had.lower() or (self._had_manager and wanted == self._had_manager.get("id")):
            return {}
        if not wanted:
            return {"manager": None} if had else {}
        return {"manager": wanted}

    # ---- copy groups from user ------------------------------------------------------------------

    def copy_groups(self) -> bool:
        """Add the groups of the user in `copy_groups_from` that can be given to another user."""
        who = self._person(self.copy_groups_from)
        label = FIELD_LABELS["copy_groups_from"]
        if not who:
            self.alert("warning", f"{label}: type a name or sign-in name and pick the person first.")
            return False
        try:
            theirs = self.m365.groups_from_user(self.tenant, who)
        except (M365DashError, ValueError, KeyError):
            self.alert("warning", f"{label}: no user '{who}' in this tenant. Type part of a name "
                                  "and pick the person from the list.")
            return False
        ids = [str(g) for g in theirs["id"]]
        new = [g for g in ids if g not in self.groups]
        names = dict(zip(theirs["id"].astype(str), theirs["display_name"].astype(str)))
        if not ids:
            self.alert("info", f"{who} is in no group that can be copied (distribution lists, "
                               "mail-enabled security and dynamic groups are left out).")
            return False
        self.pick_groups([*self.groups, *new])
        added = [names[g] for g in new if g in self.groups]
        known = self._people[self._people["upn"].str.lower() == who.lower()]["label"]
        person = str(known.iloc[0]) if len(known) else who
        text = (f"Added {len(added)} group{'s' * (len(added) != 1)} of {person}: "
                f"{', '.join(added)}." if added else f"Every group of {person} was already picked.")
        self.alert("info", text + " Nothing changes until you save.")
        return True

    # ---- templates ------------------------------------------------------------------------------

    def load_templates(self) -> None:
        """The tenant's templates for the picker; its default template is picked and applied."""
        frame = self.m365.templates(self.tenant)
        options = {"No template": NO_TEMPLATE}
        default = NO_TEMPLATE
        for row in frame.to_dict("records"):
            options[f"{row['name']} (default)" if row["is_default"] else str(row["name"])] = str(row["name"])
            if row["is_default"] and default == NO_TEMPLATE:
                default = str(row["name"])
        self.param.template.objects = options
        if self.template == default:
            self._apply_template()
        else:
            self.template = default          # the watcher applies it

    @param.depends("template", watch=True)
    def _template_picked(self) -> None:
        self._apply_template()

    def template_argument(self):
        """What plan_onboarding gets: the template's name, or False for none."""
        return False if self.template in (NO_TEMPLATE, "", None) else self.template

    def _apply_template(self) -> None:
        if self.tenant_locked() or not self.tenant:
            return
        values: dict = {}
        if self.template_argument():
            try:
                values = self.m365.template(self.tenant, self.template).values()
            except (M365DashError, ValueError) as exc:
                self.alert("warning", f"Template: {error_text(exc)}")
        before, put = self._from_template, {}
        for name in FORM_FIELDS:
            new, now = str(values.get(name) or ""), getattr(self, name)
            if not now.strip() or now == before.get(name):
                setattr(self, name, new)
                if new:
                    put[name] = new
        self._fill_domain(values.get("domain"))
        self._username_format = str(values.get("username_format") or "")
        self._derive_username()
        put.update(self._fill_lists(values, before))
        self._from_template = put
        self.template_note = self._note(values, put)

    def _fill_domain(self, domain) -> None:
        if not domain:
            return
        if domain not in (self.param.domain.objects or []):
            self.alert("warning", f"Template '{self.template}': its domain {domain} is not a "
                                  "verified domain of this tenant; pick a domain.")
        elif not self._domain_set or self.domain == self._domain_set:
            self.domain = domain
            self._domain_set = domain

    def _fill_lists(self, values: dict, before: dict) -> dict:
        """Licenses, groups and roles: the previous template's items go, the new one's come."""
        put = {}
        wanted = {"licenses": [str(s) for s in values.get("licenses") or []],
                  "groups": self._ids(values.get("groups") or [], self.group_options, "id",
                                      "Group"),
                  "roles": self._ids(values.get("roles") or [], self.role_options,
                                     "role_definition_id", "Directory role")}
        for name, items in wanted.items():
            old = set(before.get(name, []))
            kept = [v for v in getattr(self, name) if v not in old]
            merged = kept + [v for v in items if v not in kept]
            if name == "licenses":
                self.pick_licenses(merged)
            elif name == "groups":
                self.pick_groups(merged)
            else:
                self.roles = merged
            put[name] = [v for v in items if v in getattr(self, name)]
        return put

    def _ids(self, names, options: pd.DataFrame, key: str, what: str) -> list[str]:
        """Template group / role names (or ids) as the form's option ids; a name the tenant no
        longer has is left out, saying so."""
        by_name = {str(n).lower(): str(i) for n, i in zip(options["display_name"], options[key])}
        ids = set(options[key].astype(str))
        out = []
        for name in names:
            found = str(name) if str(name) in ids else by_name.get(str(name).lower())
            if found:
                out.append(found)
            else:
                self.alert("warning", f"Template '{self.template}': {what.lower()} '{name}' is not "
                                      "in this tenant any more and was left out; an admin can fix "
                                      "the template.")
        return out

    def _note(self, values: dict, put: dict) -> str:
        if not self.template_argument():
            return ""
        filled = [FIELD_LABELS[n] for n in ("domain", *FORM_FIELDS) if n in put or
                  (n == "domain" and values.get("domain") == self.domain)]
        if self._username_format:
            filled.append("Username (from the first and last name)")
        given = "; ".join(f"{word}: {self._names(n, put.get(n, [])) or 'none'}" for n, word in
                          (("licenses", "licenses"), ("groups", "groups"), ("roles", "directory roles")))
        parts = [f"Template **{self.template}** filled {', '.join(filled) or 'no field here'}. "
                 f"It gives {given} (change them on Roles & Licenses and Groups)."]
        extra = [f"{FIELD_LABELS[n]} {values[n]}" for n in OFF_FORM_FIELDS if values.get(n)]
        if extra:
            parts.append(f"It also gives: {', '.join(extra)}.")
        return " ".join(parts)

    def _names(self, kind: str, ids: list[str]) -> str:
        """Option ids as the tabs name them (license product names, group and role names)."""
        frame, key, label = {"licenses": (self.license_options, "sku_part_number", "product_name"),
                             "groups": (self.group_options, "id", "display_name"),
                             "roles": (self.role_options, "role_definition_id", "display_name")}[kind]
        names = dict(zip(frame[key].astype(str), frame[label].astype(str)))
        return ", ".join(names.get(i, i) for i in ids)

    def template_refills(self) -> list[str]:
        """Warnings for fields left empty that the template will fill anyway (the services'
        template fills every field the caller leaves empty)."""
        if not self.template_argument():
            return []
        try:
            values = self.m365.template(self.tenant, self.template).values()
        except (M365DashError, ValueError):
            return []
        return [f"{FIELD_LABELS[n]} is empty, so template '{self.template}' fills it with "
                f"'{values[n]}'. Type a value, or pick No template to leave it empty."
                for n in FORM_FIELDS if values.get(n) and not getattr(self, n).strip()]

    def _derive_username(self) -> None:
        """With a template's username format, the username follows the names until typed over."""
        if not self._username_format:
            return
        built = username_from(self.given_name, self.surname, self._username_format) or ""
        if not self.username.strip() or self.username == self._auto_username:
            self.username = built
        self._auto_username = built

    # ---- first sign-in ------------------------------------------------------------------------

    def sign_in_arguments(self) -> dict:
        """first_sign_in (and the pass's lifetime and one-time use) for plan_onboarding."""
        if self.first_sign_in != "temporary_access_pass":
            return {"first_sign_in": "password"}
        return {"first_sign_in": "temporary_access_pass",
                "tap_lifetime_minutes": self.tap_lifetime_minutes,
                "tap_usable_once": self.tap_usable_once}

    def take_secrets(self, result) -> bool:
        """Keep the apply's generated password or pass for showing once; True if there was one."""
        password = getattr(result, "password", None) or ""
        tap = getattr(result, "temporary_access_pass", None) or ""
        if password:
            self.generated_password = password
        if tap:
            self.temporary_access_pass = tap
        return bool(password or tap)

    def clear_secrets(self) -> None:
        """Drop the shown password and pass (the form is left, closed or loaded again)."""
        self.param.update(generated_password="", temporary_access_pass="",
                          secret_close_pending=False)
