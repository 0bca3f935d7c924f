"""Offboard User: the toggles, what the user holds, and the rule that disables the button when
the chosen toggles would change nothing."""
from __future__ import annotations

import pandas as pd
import param

from services.workflows import OPTION_LABELS, unchanged_reasons

from .base import PlanViewModel
from .user_details import license_source

# The page's toggles are the workflow's options, labelled as the workflow names them.
TOGGLES = OPTION_LABELS


class OffboardViewModel(PlanViewModel):
    """State and actions of the Offboard User page."""

    tenant = param.String(default="", doc="Tenant id of the user.")
    user = param.String(default="", doc="Object id of the user.")
    user_principal_name = param.String(default="", doc="The user's sign-in name, for titles.")
    account_enabled = param.Boolean(default=True, doc="Whether the user can sign in now.")
    delete = param.Boolean(default=False, doc="Delete the user (removes licenses and groups "
                                              "first; restorable for 30 days).")
    remove_licenses = param.Boolean(default=False, doc="Remove every license the user holds.")
    remove_groups = param.Boolean(default=False, doc="Remove the user from every group.")
    remove_roles = param.Boolean(default=False, doc="Remove every directory role the user holds "
                                                    "(admin rights end with the offboarding).")
    block_sign_in = param.Boolean(default=False, doc="Block the user's sign-in.")
    revoke_sessions = param.Boolean(default=False, doc="Sign the user out everywhere.")
    reset_password = param.Boolean(default=False, doc="Set a new random password (shown once).")
    licenses = param.DataFrame(default=pd.DataFrame(columns=["product_name", "source"]),
                               doc="Licenses the user holds and where each comes from.")
    groups = param.DataFrame(default=pd.DataFrame(columns=["display_name", "kind"]),
                             doc="Groups the user is a direct member of.")
    roles = param.DataFrame(default=pd.DataFrame(columns=["display_name"]),
                            doc="Directory roles the user holds.")
    new_password = param.String(default="", doc="The reset password; shown once.")
    done = param.Event(doc="Fires after an offboarding was applied (the app refreshes rows).")
    closed = param.Event(doc="Fires after the user was deleted: the page has no user left to "
                             "show, and the app goes back to All Users with the outcome.")

    def load(self, tenant: str, user: str) -> bool:
        self.discard()
        self.clear_alerts()
        self.param.update(**{k: False for k in TOGGLES}, new_password="", last_result=None)
        try:
            row = self.m365.resolve_user(tenant, user)
        except (ValueError, KeyError):
            self.param.update(user="", user_principal_name="")
            self.alert("danger", "This user is not in the tenant any more: deleted, or not synced "
                                 "yet. Deleted users can be restored from the Activity page for "
                                 "30 days.")
            return False
        self.tenant, self.user = str(row["tenant_id"]), str(row["id"])
        self.user_principal_name = str(row["user_principal_name"])
        self.account_enabled = bool(row.get("account_enabled") is not False)
        held = self.m365.user_licenses(self.tenant)
        held = held[held["user_id"] == self.user].copy()
        held["source"] = [license_source(r) for r in held.to_dict("records")]
        self.licenses = held[["product_name", "source"]].astype(object).reset_index(drop=True)
        self.groups = self.m365.user_groups(self.tenant, self.user)[["display_name", "kind"]]
        self.roles = self.m365.user_roles(self.tenant, self.user)[["display_name"]] \
            .reset_index(drop=True)
        return True

    @param.depends(*TOGGLES, "licenses", "groups", "roles", "account_enabled", "busy")
    def blockers(self) -> list[str]:
        """Why the Offboard button is disabled (empty: it is enabled)."""
        chosen = [k for k in TOGGLES if getattr(self, k)]
        if self.busy:
            return ["an offboarding is being applied"]
        if not self.user:
            return ["no user"]
        if not chosen:
            return ["choose at least one option"]
        needs = "delete" if self.delete else "offboard"
        if not self.may(needs):
            return [f"your role may not {'delete users' if self.delete else 'offboard users'}"]
        # The workflow's own rule, on what the store says the user holds.
        why = unchanged_reasons({k: getattr(self, k) for k in TOGGLES},
                                enabled=self.account_enabled, licenses=self.licenses,
                                groups=self.groups, roles=self.roles)
        return ["nothing to change: " + "; ".join(why)] if why else []

    def can_offboard(self) -> bool:
        return not self.blockers()

    async def offboard(self) -> bool:
        """Plan the offboarding and show its steps for confirmation."""
        if self.blockers():
            self.alert("warning", "Cannot offboard: " + "; ".join(self.blockers()))
            return False
        plan = await self.plan_task("Planning the offboarding", self.m365.plan_offboarding,
                                    self.tenant, self.user, reveal_password=True,
                                    **{k: getattr(self, k) for k in TOGGLES})
        if plan is None:
            return False
        title = f"{'Delete' if self.delete else 'Offboard'} {self.user_principal_name}"
        return self.propose(plan, title, self._after)

    def _after(self, result) -> None:
        if getattr(result, "password", None):
            self.new_password = result.password
        self.done = True
        if not self.delete:
            self.load_current()

    def _reported(self, result) -> None:
        if self.delete and getattr(result, "ok", False):
            self.closed = True

    def outcome_alerts(self) -> list:
        """What the last apply said, for the page shown after a delete."""
        return [a for a in self.alerts if a.kind in ("success", "danger", "warning")][-3:]

    def load_current(self) -> None:
        """Re-read what the user holds now, keeping the shown password and result."""
        password, result, alerts = self.new_password, self.last_result, self.alerts
        if self.load(self.tenant, self.user):
            self.param.update(new_password=password, last_result=result, alerts=alerts)
