"""Offboard User: the toggles, what the user holds, and the rule that disables the button when
the chosen toggles would change nothing."""
from __future__ import annotations

import pandas as pd
import param

from .base import PlanViewModel
from .user_details import license_source

TOGGLES = {"delete": "Delete User", "remove_licenses": "Remove assigned licenses",
           "remove_groups": "Remove from groups", "block_sign_in": "Block sign-in",
           "revoke_sessions": "Revoke sessions", "reset_password": "Reset password"}


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
    block_sign_in = param.Boolean(default=False, doc="Block the user's sign-in.")
    revoke_sessions = param.Boolean(default=False, doc="Sign the user out everywhere.")
    reset_password = param.Boolean(default=False, doc="Set a new random password (shown once).")
    licenses = param.DataFrame(default=pd.DataFrame(columns=["product_name", "source"]),
                               doc="Licenses the user holds and where each comes from.")
    groups = param.DataFrame(default=pd.DataFrame(columns=["display_name", "kind"]),
                             doc="Groups the user is a direct member of.")
    new_password = param.String(default="", doc="The reset password; shown once.")
    done = param.Event(doc="Fires after an offboarding was applied (the app refreshes rows).")

    def load(self, tenant: str, user: str) -> bool:
        self.discard()
        self.clear_alerts()
        self.set(**{k: False for k in TOGGLES}, new_password="", last_result=None)
        try:
            row = self.m365.resolve_user(tenant, user)
        except (ValueError, KeyError) as exc:
            self.alert("danger", f"User not found: {exc}")
            return False
        self.tenant, self.user = str(row["tenant_id"]), str(row["id"])
        self.user_principal_name = str(row["user_principal_name"])
        self.account_enabled = bool(row.get("account_enabled") is not False)
        held = self.m365.user_licenses(self.tenant)
        held = held[held["user_id"] == self.user].copy()
        held["source"] = [license_source(r) for r in held.to_dict("records")]
        self.licenses = held[["product_name", "source"]].astype(object).reset_index(drop=True)
        self.groups = self.m365.user_groups(self.tenant, self.user)[["display_name", "kind"]]
        return True

    @param.depends(*TOGGLES, "licenses", "groups", "account_enabled", "busy")
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
        would_change = (self.delete or self.revoke_sessions or self.reset_password
                        or (self.block_sign_in and self.account_enabled)
                        or (self.remove_licenses and len(self.licenses) > 0)
                        or (self.remove_groups and len(self.groups) > 0))
        if would_change:
            return []
        why = []
        if self.remove_licenses:
            why.append("the user has no licenses")
        if self.remove_groups:
            why.append("the user is in no groups")
        if self.block_sign_in:
            why.append("sign-in is already blocked")
        return ["nothing to change: " + "; ".join(why)]

    def can_offboard(self) -> bool:
        return not self.blockers()

    def offboard(self) -> bool:
        """Plan the offboarding and show its steps for confirmation."""
        if self.blockers():
            self.alert("warning", "Cannot offboard: " + "; ".join(self.blockers()))
            return False
        plan = self.m365.plan_offboarding(self.tenant, self.user, reveal_password=True,
                                          **{k: getattr(self, k) for k in TOGGLES})
        title = f"{'Delete' if self.delete else 'Offboard'} {self.user_principal_name}"
        return self.propose(plan, title, self._after)

    def _after(self, result) -> None:
        if getattr(result, "password", None):
            self.new_password = result.password
        self.done = True
        if not self.delete:
            self.load_current()

    def load_current(self) -> None:
        """Re-read what the user holds now, keeping the shown password and result."""
        password, result, alerts = self.new_password, self.last_result, self.alerts
        if self.load(self.tenant, self.user):
            self.set(new_password=password, last_result=result, alerts=alerts)
