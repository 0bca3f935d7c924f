"""User lifecycle workflows: onboard, edit, offboard, restore. Plans first, then apply.

`WorkflowsMixin` gives the `M365` object its workflow methods. It needs from its host: `graph`
(the Graph hub), `actor`, `store.engine`, `resolve_tenant(arg)`, `tenants()` (for
`deleted_users()` across all tenants) and, optionally, `sync_tenant(tenant_id)` to refresh the
store after an apply.
"""
from __future__ import annotations

import pandas as pd

from .. import audit as _audit
from ..errors import PermissionDenied
from .edit import plan_edit
from .offboarding import OPTION_LABELS, plan_offboarding, unchanged_reasons
from .onboarding import plan_onboarding
from .plan import DONE, FAILED, SKIPPED, Plan, PlanHasProblems, Problem, Result
from .restore import deleted_users, plan_restore
from .scheduled import schedule

__all__ = ["WorkflowsMixin", "Plan", "PlanHasProblems", "Problem", "Result", "DONE", "FAILED",
           "SKIPPED", "OPTION_LABELS", "unchanged_reasons"]


class WorkflowsMixin:
    """Workflow methods of the `M365` object; every plan is applied with `plan.apply()`."""

    def plan_onboarding(self, tenant, user: dict | None = None, licenses=None, groups=None,
                        roles=None, template=None, first_sign_in: str = "password",
                        tap_lifetime_minutes: int | None = None,
                        tap_usable_once: bool | None = None) -> Plan:
        """Plan a new user. `user` holds given_name, surname, display_name, username, domain,
        password (else generated), force_change_password, usage_location, job_title, department,
        company_name, office_location, business_phone, mobile_phone, manager. Licenses are SKU
        part numbers or product names (or {"sku": ..., "disabled_plans": [...]}); groups and
        roles names or ids. `template` names one of the tenant's templates; None uses the
        tenant's default template (if any), False none. What the caller gives wins over the
        template, lists included (licenses=[] means no licenses; None keeps the template's).
        first_sign_in="temporary_access_pass" gives the user a Temporary Access Pass instead of
        a password (lifetime in minutes within the tenant's policy, default the policy's; one-time
        unless tap_usable_once=False): shown once in Result.temporary_access_pass."""
        return plan_onboarding(self, tenant, user, licenses, groups, roles, template=template,
                               first_sign_in=first_sign_in,
                               tap_lifetime_minutes=tap_lifetime_minutes,
                               tap_usable_once=tap_usable_once)

    def plan_edit(self, tenant, user, changes: dict | None = None, add_licenses=None,
                  remove_licenses=None, add_groups=None, remove_groups=None, add_roles=None,
                  remove_roles=None) -> Plan:
        """Plan changes to a user (object id or UPN); only values that differ are written.
        changes={"manager": upn_or_id} sets the manager; {"manager": None} (or "") removes it."""
        return plan_edit(self, tenant, user, changes, add_licenses, remove_licenses, add_groups,
                         remove_groups, add_roles, remove_roles)

    def plan_offboarding(self, tenant, user, delete=False, remove_licenses=False,
                         remove_groups=False, remove_roles=False, block_sign_in=False,
                         revoke_sessions=False, reset_password=False,
                         reveal_password=False, remove_mfa=False, auto_reply=None,
                         retire_devices=False, hand_over_to_manager=False,
                         convert_to_shared=False, mailbox_access=None, automapping=True,
                         send_as=None, forward_to=None, keep_copy=True,
                         hide_from_address_lists=False, remove_distribution_lists=False,
                         at=None) -> Plan:
        """Plan an offboarding; a reset password is shown only with reveal_password=True.
        remove_roles removes every directory role the user holds (delete does so too).
        remove_mfa deletes every authentication method but the password; auto_reply is the
        out-of-office text, or {"message", "external_message", "audience" (all | contactsOnly |
        none), "start", "end"} ({display_name} and {manager} are filled in); retire_devices
        retires the user's Intune devices (no wipe); hand_over_to_manager makes the manager an
        owner of every group the user owns (docs/OFFBOARDING.md).
        Exchange Online (docs/EXCHANGE.md): convert_to_shared converts the mailbox before the
        licenses go (refused over 50 GB); mailbox_access and send_as name people (a UPN, a list,
        or "manager"/True for the manager) to get Full Access (automapping=True shows it in
        their Outlook) or Send As; forward_to is an address (or "manager"), keep_copy keeps
        a copy in the mailbox; hide_from_address_lists; remove_distribution_lists takes the
        user out of distribution lists and mail-enabled security groups.
        With `at` (an aware datetime or ISO text with its offset, within a year) apply()
        stores a scheduled job instead of writing; at its time the job is planned again with
        these options against current Graph (docs/SCHEDULES.md)."""
        # Every keyword but `at`: what a scheduled job stores and plans again with.
        options = dict(delete=delete, remove_licenses=remove_licenses,
                       remove_groups=remove_groups, remove_roles=remove_roles,
                       block_sign_in=block_sign_in, revoke_sessions=revoke_sessions,
                       reset_password=reset_password, reveal_password=reveal_password,
                       remove_mfa=remove_mfa, auto_reply=auto_reply, retire_devices=retire_devices,
                       hand_over_to_manager=hand_over_to_manager,
                       convert_to_shared=convert_to_shared, mailbox_access=mailbox_access,
                       automapping=automapping, send_as=send_as, forward_to=forward_to,
                       keep_copy=keep_copy, hide_from_address_lists=hide_from_address_lists,
                       remove_distribution_lists=remove_distribution_lists)
        plan = plan_offboarding(self, tenant, user, **options)
        return plan if at is None else schedule(plan, at, options)

    def mailbox(self, tenant, user) -> dict:
        """The user's Exchange Online mailbox, read live: type, size and quota, forwarding,
        hidden from the address lists, Full Access and Send As holders (mailbox_details)."""
        from ..mailbox_details import mailbox_details
        return mailbox_details(self, tenant, user)

    def manager_of(self, tenant, user) -> dict | None:
        """The user's manager, read live from Graph: {"id", "user_principal_name",
        "display_name"}, or None when they have none (for edit forms and the user's page)."""
        from .manager import current_manager
        from .resolve import user_exists
        client = self.graph.tenant(self.resolve_tenant(tenant))
        user_id = user_exists(client, str(user))
        if user_id is None:
            raise ValueError(f"no user '{user}' in this tenant; use an object id or user "
                             "principal name")
        found = current_manager(client, user_id)
        if found is None:
            return None
        return {"id": found.get("id"), "user_principal_name": found.get("userPrincipalName"),
                "display_name": found.get("displayName")}

    def plan_restore(self, tenant, user, reapply: bool = True) -> Plan:
        """Plan restoring a user deleted less than 30 days ago, re-applying its recorded
        licenses, groups and directory roles unless reapply=False."""
        return plan_restore(self, tenant, user, reapply)

    def deleted_users(self, tenant=None) -> pd.DataFrame:
        """Deleted users (live from Graph): tenant_id, id, user_principal_name, display_name,
        deleted (UTC), days_left, restorable, has_record."""
        return deleted_users(self, tenant)

    def audit_log(self, tenant=None, user: str | None = None, action: str | None = None,
                  actor: str | None = None, outcome: str | None = None, since=None, until=None,
                  limit: int | None = None) -> pd.DataFrame:
        """The audit log, newest first: time, actor, role, tenant_id, user, action, outcome, detail."""
        tenant_id = None
        if tenant is not None:
            try:
                tenant_id = self.resolve_tenant(tenant)
            except (ValueError, KeyError, LookupError):
                tenant_id = str(tenant)      # a tenant no longer configured still has history
        return _audit.read(self.store.engine, tenant_id=tenant_id, user=user, action=action,
                           actor=actor, outcome=outcome, since=since, until=until, limit=limit)

    def audit(self, *, action: str, outcome: str, tenant_id: str = "", user: str = "",
              detail: dict | None = None) -> int:
        """Write one audit entry as the current actor (secrets are scrubbed from `detail`)."""
        return _audit.record(self.store.engine, actor=self.actor.name, role=self.actor.role,
                      action=action, outcome=outcome, tenant_id=tenant_id or "", user=user or "",
                      detail=detail)

    def audit_finish(self, entry_id: int, *, outcome: str, detail: dict | None = None) -> None:
        """Give a "started" audit entry its final outcome and detail."""
        _audit.finish(self.store.engine, entry_id, outcome=outcome, detail=detail)

    def require_role(self, permission: str, *, action: str | None = None, tenant_id: str = "",
                     user: str = "", detail: dict | None = None) -> None:
        """Raise PermissionDenied (and audit it as denied) unless the actor may `permission`."""
        try:
            self.actor.require(permission)
        except PermissionDenied:
            self.audit(action=action or permission, outcome="denied", tenant_id=tenant_id,
                       user=user, detail={**(detail or {}), "needs": permission})
            raise
