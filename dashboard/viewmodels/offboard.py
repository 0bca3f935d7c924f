"""Offboard User: the toggles, what the user holds, the rule that disables the button when
the chosen toggles would change nothing, the tenant's defaults and "Offboard at"."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import param

from services.errors import PermissionDenied
from services.workflows import OPTION_LABELS, unchanged_reasons

from .base import PlanViewModel, error_text
from .user_details import license_source

# The page's toggles are the workflow's options, labelled as the workflow names them.
TOGGLES = OPTION_LABELS
AUDIENCES = {"all": "Everyone outside", "contactsOnly": "Only my contacts", "none": "Nobody outside"}


def zone(name: str):
    """The viewer's time zone by IANA name; UTC when the browser gave none or an unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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
    remove_mfa = param.Boolean(default=False, doc="Remove every MFA method but the password.")
    auto_reply = param.Boolean(default=False, doc="Set automatic replies (out of office).")
    auto_reply_text = param.String(default="", doc="The reply to people inside the organization; "
                                                   "{display_name} and {manager} are filled in.")
    auto_reply_external = param.String(default="", doc="The reply to people outside; empty: the "
                                                       "same text.")
    auto_reply_audience = param.Selector(default="all", objects=list(AUDIENCES),
                                         doc="Who outside the organization gets the reply.")
    retire_devices = param.Boolean(default=False, doc="Retire the user's Intune devices (no wipe).")
    convert_to_shared = param.Boolean(default=False, doc="Convert the mailbox to a shared mailbox "
                                      "(before its license goes; refused over 50 GB).")
    mailbox_access = param.Boolean(default=False, doc="Give people Full Access to the mailbox.")
    mailbox_access_to = param.String(default="manager", doc="Who gets Full Access: 'manager' or "
                                     "user principal names separated by ';'.")
    automapping = param.Boolean(default=True, doc="Full Access shows the mailbox in their Outlook.")
    send_as = param.Boolean(default=False, doc="Let people send as the user.")
    send_as_to = param.String(default="manager", doc="Who may send as the user: 'manager' or "
                              "user principal names separated by ';'.")
    forward_to = param.Boolean(default=False, doc="Forward new mail to an address.")
    forward_address = param.String(default="manager", doc="Where new mail goes: an address or "
                                   "'manager'.")
    keep_copy = param.Boolean(default=True, doc="Keep a copy of forwarded mail in the mailbox.")
    hide_from_address_lists = param.Boolean(default=False, doc="Hide the user from the address "
                                            "lists (global address list).")
    remove_distribution_lists = param.Boolean(default=False, doc="Take the user out of "
                                              "distribution lists and mail-enabled security groups.")
    mailbox_type = param.String(default="", doc="The mailbox type the last sync saw (UserMailbox, "
                                "SharedMailbox; empty: none known).")
    hand_over_to_manager = param.Boolean(default=False, doc="Make the manager owner of the groups "
                                                            "the user owns.")
    offboard_at = param.Date(default=None, allow_None=True, doc="When to offboard, in the "
                             "viewer's time zone (naive); None: now.")
    timezone = param.String(default="UTC", doc="The viewer's time zone (IANA name, from the "
                                               "browser).")
    defaults_note = param.String(default="", doc="Where the toggles' starting values came from.")
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
        self.param.update(**{k: False for k in TOGGLES}, new_password="", last_result=None,
                          auto_reply_text="", auto_reply_external="", auto_reply_audience="all",
                          offboard_at=None, defaults_note="", mailbox_access_to="manager",
                          send_as_to="manager", forward_address="manager", automapping=True,
                          keep_copy=True)
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
        self.mailbox_type = str(row.get("mailbox_type") or "")
        held = self.m365.user_licenses(self.tenant)
        held = held[held["user_id"] == self.user].copy()
        held["source"] = [license_source(r) for r in held.to_dict("records")]
        self.licenses = held[["product_name", "source"]].astype(object).reset_index(drop=True)
        self.groups = self.m365.user_groups(self.tenant, self.user)[["display_name", "kind"]]
        self.roles = self.m365.user_roles(self.tenant, self.user)[["display_name"]] \
            .reset_index(drop=True)
        self._apply_defaults()
        return True

    def _apply_defaults(self) -> None:
        """Start the toggles at the tenant's offboarding defaults, when it has any."""
        defaults = self.m365.offboarding_defaults(self.tenant)
        if defaults.get("updated") is None:
            return
        on = {k: bool(v) for k, v in defaults["options"].items() if k in TOGGLES}
        self.param.update(**on, auto_reply_text=defaults.get("auto_reply_message") or "")
        self.defaults_note = (f"The switches start at this tenant's defaults (saved by "
                              f"{defaults.get('updated_by') or 'an admin'}).")

    def save_defaults(self) -> bool:
        """Save the switches and the reply text as this tenant's defaults (admins)."""
        try:
            self.m365.set_offboarding_defaults(
                self.tenant, auto_reply_message=self.auto_reply_text or None,
                **{k: bool(getattr(self, k)) for k in TOGGLES})
        except (ValueError, PermissionDenied) as exc:
            self.alert("danger", f"The defaults were not saved: {error_text(exc)}")
            return False
        self.alert("success", "Saved as this tenant's offboarding defaults: "
                   + (", ".join(TOGGLES[k] for k in TOGGLES if getattr(self, k)) or "all off"))
        return True

    def scheduled_at(self) -> datetime | None:
        """"Offboard at" as an aware time in the viewer's zone, or None for now."""
        if self.offboard_at is None:
            return None
        return self.offboard_at.replace(tzinfo=zone(self.timezone))

    def options(self) -> dict:
        """The chosen options as plan_offboarding takes them."""
        chosen = {k: bool(getattr(self, k)) for k in TOGGLES if k != "auto_reply"}
        # Exchange's people and address options carry who, not just whether.
        chosen["mailbox_access"] = self.mailbox_access_to if self.mailbox_access else None
        chosen["send_as"] = self.send_as_to if self.send_as else None
        chosen["forward_to"] = self.forward_address.strip() if self.forward_to else None
        chosen.update(automapping=self.automapping, keep_copy=self.keep_copy)
        chosen["auto_reply"] = ({"message": self.auto_reply_text,
                                 "external_message": self.auto_reply_external,
                                 "audience": self.auto_reply_audience}
                                if self.auto_reply else None)
        return chosen

    @param.depends(*TOGGLES, "licenses", "groups", "roles", "account_enabled", "busy",
                   "auto_reply_text", "mailbox_access_to", "send_as_to", "forward_address",
                   "mailbox_type")
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
        if self.auto_reply and not self.auto_reply_text.strip():
            return ["write the automatic reply's message"]
        for on, text, what in ((self.mailbox_access, self.mailbox_access_to, "who gets Full Access"),
                               (self.send_as, self.send_as_to, "who may send as the user"),
                               (self.forward_to, self.forward_address, "where to forward mail")):
            if on and not text.strip():
                return [f"say {what}"]
        lists = int(self.groups["kind"].isin(["distribution", "mail_security"]).sum()) \
            if len(self.groups) else 0
        why = unchanged_reasons({k: getattr(self, k) for k in TOGGLES},
                                enabled=self.account_enabled, licenses=self.licenses,
                                groups=self.groups, roles=self.roles,
                                mailbox={"remove_distribution_lists": lists,
                                         "convert_to_shared": int(self.mailbox_type !=
                                                                  "SharedMailbox")})
        return ["nothing to change: " + "; ".join(why)] if why else []

    def can_offboard(self) -> bool:
        return not self.blockers()

    async def offboard(self) -> bool:
        """Plan the offboarding and show its steps for confirmation."""
        if self.blockers():
            self.alert("warning", "Cannot offboard: " + "; ".join(self.blockers()))
            return False
        at = self.scheduled_at()
        # A scheduled job is planned again at its time; its new password could be shown to no one.
        plan = await self.plan_task("Planning the offboarding", self.m365.plan_offboarding,
                                    self.tenant, self.user, reveal_password=at is None, at=at,
                                    **self.options())
        if plan is None:
            return False
        title = f"{'Delete' if self.delete else 'Offboard'} {self.user_principal_name}"
        if at is not None:
            title += f" at {at:%Y-%m-%d %H:%M} {self.timezone} ({at.astimezone(ZoneInfo('UTC')):%H:%M} UTC)"
        return self.propose(plan, title, self._after)

    def _after(self, result) -> None:
        if getattr(result, "job_id", None) is not None:
            self.offboard_at = None
            return
        if getattr(result, "password", None):
            self.new_password = result.password
        self.done = True
        if not self.delete:
            self.load_current()

    def success_text(self, plan, result) -> str:
        if getattr(result, "job_id", None) is None:
            return super().success_text(plan, result)
        local = result.at.astimezone(zone(self.timezone))
        return (f"Scheduled: {plan.user} is offboarded at {local:%Y-%m-%d %H:%M} "
                f"{self.timezone} ({result.at:%H:%M} UTC). The Activity page lists the job and "
                "can cancel it.")

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
