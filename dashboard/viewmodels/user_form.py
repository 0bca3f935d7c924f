"""The Create User / Edit User wizard: tabs User Details, Roles & Licenses, Groups.

Nothing on a tab is written until a Save (or Create) button, and every button first shows the
plan's steps for confirmation (`PlanViewModel`). An edit is one change to one user: Save on any
tab makes one plan of every pending change across the three tabs (`pending_changes`). Creating a
user turns the wizard into an edit of that user. The tenant cannot change once the user exists.
Cancel, or leaving the page, with unsaved changes asks first (`leave_pending`).
"""
from __future__ import annotations

import pandas as pd
import param

from services.workflows.hybrid import read_only_fields
from services.workflows.onboarding import display_name_from, upn_from

from .base import PlanViewModel
from .form_leaving import LeavingForm
from .form_templates import OnboardingChoices
from .form_options import (GROUP_OPTION_COLUMNS, LICENSE_OPTION_COLUMNS, ROLE_OPTION_COLUMNS,
                           group_options, license_options, role_options)
from .users import tenant_choices

TABS = {"details": "User Details", "access": "Roles & Licenses", "groups": "Groups"}
# Fields of the User Details tab that plan_edit compares with the user's current values.
EDITABLE = ["given_name", "surname", "display_name", "usage_location", "job_title", "department",
            "office_location", "business_phone", "mobile_phone"]


class UserFormViewModel(OnboardingChoices, LeavingForm, PlanViewModel):
    """State, validation and actions of the Create User and Edit User pages (the template,
    first sign-in, manager and copy-groups parts are OnboardingChoices; Cancel and leaving
    are LeavingForm)."""

    mode = param.Selector(default="create", objects=["create", "edit"], doc="create: a new user "
                          "(until it is created); edit: an existing user, tenant locked.")
    tab = param.Selector(default="details", objects=list(TABS), doc="The open tab (a key of TABS).")
    tenant = param.Selector(default="", objects={"": ""}, check_on_set=False,
                            doc="Tenant id the user belongs to; locked once the user exists.")
    user_id = param.String(default="", doc="Object id of the user being edited or just created.")
    read_only = param.Dict(default={}, doc="Form field -> why it cannot be changed here (a user "
                                           "synced from on-premises Active Directory).")
    given_name = param.String(default="", doc="First name.")
    surname = param.String(default="", doc="Last name.")
    display_name = param.String(default="", doc="Display name; follows first and last name until "
                                                "typed over.")
    username = param.String(default="", doc="The part of the user principal name before the @.")
    domain = param.Selector(default="", objects=[""], check_on_set=False,
                            doc="A verified domain of the tenant (after the @).")
    generate_password = param.Boolean(default=True, doc="Generate a strong password (shown once "
                                                        "after creation) instead of typing one.")
    password = param.String(default="", doc="A typed password, used when not generating one.")
    force_change_password = param.Boolean(default=True, doc="Make the user choose a new password "
                                                            "at the next sign-in.")
    usage_location = param.String(default="", doc="Two-letter country (ISO 3166-1) where the user "
                                                  "works; licenses need it.")
    job_title = param.String(default="", doc="Job title.")
    department = param.String(default="", doc="Department.")
    office_location = param.String(default="", doc="Office.")
    business_phone = param.String(default="", doc="Business phone.")
    mobile_phone = param.String(default="", doc="Mobile phone.")
    license_options = param.DataFrame(default=pd.DataFrame(columns=LICENSE_OPTION_COLUMNS),
                                      doc="Every SKU of the tenant with seats used / purchased / "
                                          "left, whether it can be picked and why not.")
    licenses = param.List(default=[], item_type=str, doc="SKU part numbers the user should hold "
                                                         "directly.")
    role_options = param.DataFrame(default=pd.DataFrame(columns=ROLE_OPTION_COLUMNS),
                                   doc="Directory roles of the tenant.")
    roles = param.List(default=[], item_type=str, doc="Role definition ids the user should hold.")
    group_options = param.DataFrame(default=pd.DataFrame(columns=GROUP_OPTION_COLUMNS),
                                    doc="Groups of the tenant: Team or not, apps, whether its "
                                        "members can be changed here (Graph, or Exchange Online "
                                        "for distribution lists) and why not.")
    groups = param.List(default=[], item_type=str, doc="Group ids the user should be a member of.")
    generated_password = param.String(default="", doc="The password generated at creation; shown "
                                                      "once, cleared when the wizard closes.")
    closed = param.Event(doc="Fires when the wizard is done or cancelled (the app goes back to "
                             "All Users).")
    saved = param.Event(doc="Fires after an apply changed the user (the app refreshes its rows).")

    TYPED_FIELDS = EDITABLE + ["username", "manager", "password"]   # what leaving may lose

    def __init__(self, **params):
        super().__init__(**params)
        self._auto_display = ""
        self._close_when_reported = False
        self._current: dict = {"fields": {}, "licenses": [], "roles": [], "groups": [], "upn": ""}

    # ---- opening -------------------------------------------------------------------------------

    def start_create(self, tenant: str = "", *, edit: bool = False) -> None:
        """A blank Create User form, for `tenant` or the first tenant, with the tenant's default
        template applied (`edit=True`: blank, for start_edit to fill)."""
        self.discard()
        self._reset_choices()
        self.clear_alerts()
        choices = tenant_choices(self.m365.tenants())
        choices.pop("All tenants", None)
        self.param.tenant.objects = choices
        blank = {name: p.default for name, p in self.param.objects("existing").items()
                 if name not in ("name", "m365", "mode", "tenant", "alerts", "closed", "saved",
                                 "leave_to")
                 and not p.constant and not p.readonly}
        self.param.update(**blank)
        self._auto_display = ""
        self._current = {"fields": {}, "licenses": [], "roles": [], "groups": [], "upn": ""}
        self.mode = "edit" if edit else "create"
        before = self.tenant
        self.tenant = tenant if tenant in choices.values() else next(iter(choices.values()), "")
        if self.tenant == before or edit:
            self._tenant_changed(force=True)        # the watcher only runs on a change

    def start_edit(self, tenant: str, user: str) -> None:
        """The Edit User form for an existing user; the tenant is locked."""
        self.start_create(tenant, edit=True)
        self._load_user(user)

    def _load_user(self, user: str) -> None:
        row = self.m365.resolve_user(self.tenant, user)
        self.user_id = str(row["id"])
        # The services' list of AD-mastered fields; the sign-in name is the form's username.
        read_only = read_only_fields(row)
        if "user_principal_name" in read_only:
            read_only["username"] = read_only["domain"] = read_only["user_principal_name"]
        self.read_only = read_only
        upn = str(row["user_principal_name"])
        fields = {name: ("" if pd.isna(row.get(name)) else str(row.get(name)))
                  for name in EDITABLE if name != "business_phone"}
        phones = row.get("business_phones")
        fields["business_phone"] = "" if pd.isna(phones) else str(phones).split("; ")[0]
        held = self.m365.user_licenses(self.tenant)
        held = held[(held["user_id"] == self.user_id) & held["assigned_directly"].fillna(False)]
        self._current = {
            "fields": fields, "upn": upn,
            "licenses": sorted(held["sku_part_number"].astype(str)),
            "roles": sorted(self.m365.user_roles(self.tenant, self.user_id)["role_definition_id"].astype(str)),
            "groups": sorted(self.m365.user_groups(self.tenant, self.user_id)["id"].astype(str)),
        }
        username, _, domain = upn.partition("@")
        self._auto_display = fields["display_name"]
        self.param.update(**fields, username=username, domain=domain,
                          licenses=list(self._current["licenses"]),
                          roles=list(self._current["roles"]), groups=list(self._current["groups"]))
        self.load_options()
        self.load_manager(self.user_id)
        # Values set equal to what they were send no event: the "unsaved" line and the
        # buttons follow user_id, so they are re-checked against the user just read.
        self.param.trigger("user_id")

    @param.depends("tenant", watch=True)
    def _tenant_changed(self, force: bool = False) -> None:
        if self.tenant_locked() and not force:
            return
        self.load_people()
        if self.tenant_locked():
            return
        self._domain_set = ""
        self.param.update(licenses=[], roles=[], groups=[])
        self.load_options()
        self.load_templates()

    def load_options(self) -> None:
        """Domains, SKUs with seats, roles and groups of the tenant, from the store."""
        if not self.tenant:
            return
        domains = list(self.m365.domains(self.tenant)["domain"].astype(str))
        self.param.domain.objects = domains or [""]
        if self.domain not in domains:
            self.domain = domains[0] if domains else ""
        held = {}
        if self.user_id:
            ul = self.m365.user_licenses(self.tenant)
            held = {r["sku_part_number"]: r for r in ul[ul["user_id"] == self.user_id].to_dict("records")}
        self.license_options = license_options(self.m365.licenses(self.tenant), held)
        self.role_options = role_options(self.m365.role_definitions(self.tenant))
        # Distribution lists are changed in Exchange Online, where the tenant's access allows it.
        exchange_off = self.m365.features_off(self.tenant).get("exchange")
        self.group_options = group_options(
            self.m365.groups(self.tenant), set(self._current["groups"]), exchange_off=exchange_off,
            dynamic_lists=self.m365.dynamic_distribution_groups(self.tenant))

    # ---- derived state ---------------------------------------------------------------------------

    @param.depends("given_name", "surname", watch=True)
    def _derive_display_name(self) -> None:
        auto = display_name_from(self.given_name, self.surname)
        if not self.display_name.strip() or self.display_name == self._auto_display:
            self.display_name = auto
        self._auto_display = auto

    def tenant_locked(self) -> bool:
        return self.mode == "edit" or bool(self.user_id)

    def tab_enabled(self, tab: str) -> bool:
        """Roles & Licenses and Groups need the user to exist (Create User and Continue)."""
        return tab == "details" or bool(self.user_id)

    @property
    def user_principal_name(self) -> str:
        return upn_from(self.username, self.domain)

    @param.depends("given_name", "surname", "display_name", "username", "domain", "tenant",
                   "generate_password", "password", "usage_location", "licenses", "busy", "user_id",
                   "first_sign_in")
    def details_blockers(self) -> list[str]:
        """Why the User Details buttons are disabled (empty: they are enabled)."""
        out = []
        if self.busy:
            out.append("a change is being applied")
        if not self.may("edit" if self.user_id else "onboard"):
            out.append("your role may not " + ("edit users" if self.user_id else "create users"))
        if not self.tenant:
            out.append("choose a tenant")
        if not (self.display_name.strip() or (self.given_name.strip() and self.surname.strip())):
            out.append("enter a first and last name (or a display name)")
        if not self.username.strip():
            out.append("enter a username")
        if not self.domain:
            out.append("choose a domain")
        if not self.user_id and self.first_sign_in == "password" and not self.generate_password \
                and not self.password:
            out.append("type a password or let one be generated")
        return out

    @param.depends("licenses", "usage_location", "problems")
    def needs_usage_location(self) -> bool:
        """Whether Roles & Licenses offers the usage location field: a license is being added
        without one, or the last plan said a license needs one."""
        if "usage_location" in (self.problems or {}):
            return True
        adding = set(self.licenses) - set(self._current["licenses"])
        return bool(adding) and not self.usage_location.strip()

    def access_changes(self) -> dict[str, list[str]]:
        cur = self._current
        return {"add_licenses": sorted(set(self.licenses) - set(cur["licenses"])),
                "remove_licenses": sorted(set(cur["licenses"]) - set(self.licenses)),
                "add_roles": sorted(set(self.roles) - set(cur["roles"])),
                "remove_roles": sorted(set(cur["roles"]) - set(self.roles))}

    def group_changes(self) -> dict[str, list[str]]:
        cur = set(self._current["groups"])
        return {"add_groups": sorted(set(self.groups) - cur),
                "remove_groups": sorted(cur - set(self.groups))}

    def detail_changes(self) -> dict[str, str]:
        """Edited fields that differ from the user's current values (edit mode)."""
        changes = {k: getattr(self, k).strip() for k in EDITABLE
                   if getattr(self, k).strip() != self._current["fields"].get(k, "")}
        if self.user_principal_name and self.user_principal_name.lower() != self._current["upn"].lower():
            changes["user_principal_name"] = self.user_principal_name
        changes.update(self.manager_change())
        return changes

    @param.depends("licenses", "roles", "groups", "busy")
    def save_blockers(self) -> list[str]:
        out = ["a change is being applied"] if self.busy else []
        if not self.user_id:
            out.append("create the user first (Create User and Continue)")
        elif not self.may("edit"):
            out.append("your role may not edit users")
        return out

    def license_pick_problem(self, sku_part_number: str) -> str | None:
        """Why a SKU cannot be picked (no seats left, suspended), else None."""
        rows = self.license_options[self.license_options["sku_part_number"] == sku_part_number]
        if rows.empty:
            return f"{sku_part_number} is not a SKU of this tenant"
        row = rows.iloc[0]
        return None if bool(row["selectable"]) else f"{row['product_name']}: {row['note']}"

    def pick_licenses(self, part_numbers: list[str]) -> None:
        """Set the wanted licenses; a SKU that cannot be picked is left out and said why."""
        kept = []
        for sku in part_numbers:
            why = self.license_pick_problem(sku) if sku not in self._current["licenses"] else None
            if why:
                self.alert("warning", f"Cannot pick {why}")
            else:
                kept.append(sku)
        self.licenses = kept

    def pick_groups(self, ids: list[str]) -> None:
        """Set the wanted groups; a group Graph cannot change keeps its current membership."""
        opts = self.group_options.set_index("id")
        kept = []
        for gid in ids:
            if gid in opts.index and not bool(opts.loc[gid, "selectable"]) and gid not in self._current["groups"]:
                self.alert("warning", f"Cannot pick {opts.loc[gid, 'display_name']}: {opts.loc[gid, 'note']}")
            else:
                kept.append(gid)
        locked = [g for g in self._current["groups"] if g in opts.index and not bool(opts.loc[g, "selectable"])]
        self.groups = sorted(set(kept) | set(locked))

    # ---- actions -------------------------------------------------------------------------------

    def pending_changes(self) -> dict:
        """Every unsaved change of an existing user across the three tabs, as plan_edit takes
        them: `changes` (User Details fields) plus licenses, roles and groups to add and remove."""
        if not self.user_id:
            return {}
        return {"changes": self.detail_changes(), **self.access_changes(), **self.group_changes()}

    @param.depends(*EDITABLE, "username", "domain", "manager", "password", "licenses", "roles",
                   "groups", "user_id")
    def has_unsaved(self) -> bool:
        """Whether leaving now would lose something typed or picked."""
        if self.user_id:
            return any(bool(v) for v in self.pending_changes().values())
        return any(getattr(self, k).strip() for k in self.TYPED_FIELDS)

    def pending_summary(self) -> str:
        changes = self.pending_changes()
        parts = []
        if changes.get("changes"):
            parts.append("user details")
        if any(changes.get(k) for k in ("add_licenses", "remove_licenses", "add_roles",
                                        "remove_roles")):
            parts.append("roles and licenses")
        if any(changes.get(k) for k in ("add_groups", "remove_groups")):
            parts.append("groups")
        return ", ".join(parts)

    async def submit_details(self, then: str = "close") -> bool:
        """Create User and Close / Continue (a new user), or Save and Close / Continue (an
        existing one: every pending change of the three tabs in one plan). Plan first."""
        if self.user_id:
            return await self.save(then, "details")
        blockers = self.details_blockers()
        if blockers:
            self.alert("warning", "Cannot continue: " + "; ".join(blockers))
            return False
        user = {k: getattr(self, k).strip() for k in EDITABLE + ["username"]}
        user = {k: v for k, v in {**user, "manager": self.manager_upn}.items() if v}
        user.update(domain=self.domain, force_change_password=self.force_change_password)
        if not self.generate_password and self.first_sign_in == "password":
            user["password"] = self.password
        plan = await self.plan_task("Planning the new user", self.m365.plan_onboarding,
                                    self.tenant, user=user, licenses=list(self.licenses),
                                    groups=list(self.groups), roles=list(self.roles),
                                    template=self.template_argument(), **self.sign_in_arguments())
        if plan is None:
            return False
        if not self.propose(plan, f"Create {self.user_principal_name}",
                            lambda r: self._after_save(r, then, "details")):
            return False
        self.pending_warnings = [*self.pending_warnings, *self.template_refills()]
        return True

    async def save_access(self, then: str = "close") -> bool:
        """Roles & Licenses: Save and Close / Save and Continue (every pending change)."""
        return await self.save(then, "access")

    async def save_groups(self) -> bool:
        """Groups: Save and Close (every pending change)."""
        return await self.save("close", "groups")

    async def save(self, then: str, tab: str) -> bool:
        """One plan of every pending change across the tabs, shown for confirmation."""
        blockers = self.save_blockers() or [b for b in self.details_blockers()
                                            if b != "a change is being applied"]
        if blockers:
            self.alert("warning", "Cannot save: " + "; ".join(blockers))
            return False
        changes = self.pending_changes()
        if not any(changes.values()):
            return self._after_save(None, then, tab)
        plan = await self.plan_task("Planning the changes", self.m365.plan_edit, self.tenant,
                                    self.user_id, **changes)
        if plan is None:
            return False
        upn = self._current["upn"] or self.user_principal_name
        return self.propose(plan, f"Save changes to {upn} ({self.pending_summary()})",
                            lambda r: self._after_save(r, then, tab))

    def _after_save(self, result, then: str, tab: str) -> bool:
        if result is not None:
            if result.user_id and not self.user_id:
                self.user_id = str(result.user_id)
            self.saved = True
            if self.user_id:
                self._load_user(self.user_id)
            secret = self.take_secrets(result)
            if not result.ok:
                return False
            if secret and then == "close":
                self.secret_close_pending = True     # shown once: stay until it is copied
                return True
        if then == "continue":
            order = list(TABS)
            self.tab = order[min(order.index(tab) + 1, len(order) - 1)]
        elif result is None:
            self._close()
        else:
            # Close once the apply's outcome is in the alerts, so the page we go back to can
            # show it (see _reported).
            self._close_when_reported = True
        return True

    def _reported(self, result) -> None:
        self.leave_to = None
        if self._close_when_reported:
            self._close_when_reported = False
            self._close()

    def outcome_alerts(self) -> list:
        """What the last applies said (successes and failures), for the page shown after Close."""
        return [a for a in self.alerts if a.kind in ("success", "danger", "warning")][-3:]
