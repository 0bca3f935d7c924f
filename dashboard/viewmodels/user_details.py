"""User details: summary, licenses with their source, groups (Teams, apps), roles from the store;
the manager, devices and recent sign-ins read live from Graph, the mailbox live from Exchange
Online (the store does not keep them)."""
from __future__ import annotations

import asyncio

import pandas as pd
import param

from services import access as access_rules

from .base import PageViewModel, error_text

SUMMARY_FIELDS = ["display_name", "user_principal_name", "tenant_name", "account_enabled",
                  "given_name", "surname", "job_title", "department", "office_location",
                  "usage_location", "mail", "mobile_phone", "business_phones", "created",
                  "last_sign_in", "id"]
LICENSE_COLUMNS = ["product_name", "sku_part_number", "source"]
GROUP_COLUMNS = ["display_name", "kind", "is_team", "apps"]
ROLE_COLUMNS = ["display_name", "directory_scope_id"]
DEVICE_COLUMNS = ["deviceName", "operatingSystem", "osVersion", "complianceState", "lastSyncDateTime"]
SIGN_IN_COLUMNS = ["createdDateTime", "appDisplayName", "ipAddress", "location", "status"]


def license_source(row) -> str:
    """'direct', 'group X' or both, for one user_licenses() row."""
    parts = ["direct"] if bool(row.get("assigned_directly")) else []
    groups = str(row.get("assigned_by_group_name") or "")
    parts += [f"group {g}" for g in groups.split("; ") if g]
    return ", ".join(parts) or "unknown"


def _sign_in_row(item: dict) -> dict:
    loc = item.get("location") or {}
    status = item.get("status") or {}
    code = status.get("errorCode", 0)
    return {"createdDateTime": item.get("createdDateTime"),
            "appDisplayName": item.get("appDisplayName"), "ipAddress": item.get("ipAddress"),
            "location": ", ".join(p for p in (loc.get("city"), loc.get("countryOrRegion")) if p),
            "status": "success" if not code else f"failed ({code}: {status.get('failureReason')})"}


class UserDetailsViewModel(PageViewModel):
    """State of the user details page for one tenant and user."""

    tenant = param.String(default="", doc="Tenant id of the user shown.")
    user = param.String(default="", doc="Object id (or user principal name) of the user shown.")
    summary = param.Dict(default={}, doc="The user's stored properties (SUMMARY_FIELDS).")
    licenses = param.DataFrame(default=pd.DataFrame(columns=LICENSE_COLUMNS), doc="Licenses the "
                               "user holds, each with its source: direct or the group giving it.")
    groups = param.DataFrame(default=pd.DataFrame(columns=GROUP_COLUMNS), doc="Groups the user "
                             "is a direct member of, whether each is a Team, and its apps.")
    roles = param.DataFrame(default=pd.DataFrame(columns=ROLE_COLUMNS), doc="Directory roles "
                            "assigned to the user.")
    devices = param.DataFrame(default=pd.DataFrame(columns=DEVICE_COLUMNS), doc="Intune managed "
                              "devices of the user, read live.")
    devices_note = param.String(default="", doc="Why there are no devices to show (e.g. the "
                                "tenant has no Intune); empty otherwise.")
    manager = param.String(default="", doc="The user's manager as 'Name (sign-in name)', read "
                           "live; 'No manager' when they have none, empty until read.")
    sign_ins = param.DataFrame(default=pd.DataFrame(columns=SIGN_IN_COLUMNS), doc="The user's "
                               "recent sign-ins (newest first), read live.")
    mailbox = param.Dict(default={}, doc="The user's mailbox read live from Exchange Online "
                         "(services.mailbox_details: available, reason, type, sizes, forwarding, "
                         "hidden, full_access, send_as), each holder with a 'name' to show; "
                         "empty until read.")
    mailbox_loading = param.Boolean(default=False, doc="Whether the mailbox is being read from "
                                    "Exchange Online now.")
    timezone = param.String(default="UTC", doc="The viewer's time zone (IANA name, from the "
                            "browser): the summary's times are shown in it.")

    def load(self, tenant: str | None = None, user: str | None = None) -> bool:
        """Read the user from the store; `load_live()` then adds the manager, devices, sign-ins
        and the mailbox."""
        if tenant is not None:
            self.tenant = tenant
        if user is not None:
            self.user = user
        self.clear_alerts()
        try:
            row = self.m365.resolve_user(self.tenant, self.user)
        except (ValueError, KeyError):
            self.param.update(summary={}, manager="", devices=self.devices.iloc[0:0], devices_note="",
                              sign_ins=self.sign_ins.iloc[0:0], mailbox={}, mailbox_loading=False)
            self.alert("warning", "This user is not in the tenant any more: deleted, or not "
                                  "synced yet. A deleted user can be restored from the Activity "
                                  "page for 30 days.")
            return False
        self.tenant, self.user = str(row["tenant_id"]), str(row["id"])
        self.summary = {k: row.get(k) for k in SUMMARY_FIELDS}
        held = self.m365.user_licenses(self.tenant)
        held = held[held["user_id"] == self.user].copy()
        held["source"] = [license_source(r) for r in held.to_dict("records")]
        self.licenses = held[LICENSE_COLUMNS].astype(object).reset_index(drop=True)
        groups = self.m365.user_groups(self.tenant, self.user)
        self.groups = groups[GROUP_COLUMNS].reset_index(drop=True)
        self.roles = self.m365.user_roles(self.tenant, self.user)[ROLE_COLUMNS]
        self.param.update(manager="", devices=self.devices.iloc[0:0], devices_note="",
                          sign_ins=self.sign_ins.iloc[0:0], mailbox={}, mailbox_loading=True)
        return True

    async def _load_devices(self, client, user: str) -> None:
        """The user's Intune devices; a tenant without Intune is a note, not a failure."""
        read = getattr(getattr(self.m365, "store", None), "tenant", None)
        row = (read(self.tenant) if read else None) or {}
        if row.get("intune") is False:
            self.devices_note = access_rules.NO_INTUNE_NOTE + "."
            return
        try:
            answer = await asyncio.to_thread(client.get, f"users/{user}/managedDevices")
        except Exception as exc:  # noqa: BLE001 - the page still shows everything else
            if access_rules.is_no_intune(exc):
                self.devices_note = access_rules.NO_INTUNE_NOTE + "."
                await asyncio.to_thread(access_rules.record_intune, self.m365, self.tenant, False)
            else:
                self.alert("warning", f"Devices could not be read: {error_text(exc)}")
            return
        items = answer.get("value", [])
        self.devices = pd.DataFrame([{c: d.get(c) for c in DEVICE_COLUMNS} for d in items],
                                    columns=DEVICE_COLUMNS)

    def _read_mailbox(self, tenant: str, user: str) -> dict:
        """The mailbox (blocking: Exchange Online and the store), each Full Access and Send As
        holder named as 'Name (sign-in name)' when the store knows them."""
        off = self.m365.features_off(tenant).get("exchange")
        if off:          # the access rule's own reason is long (steps and a consent URL)
            why = f"the app {off}" if off.startswith("needs ") else off
            return {"available": False, "reason": f"Exchange Online is off in this tenant: {why}. "
                                                  "All Tenants shows what to grant."}
        box = dict(self.m365.mailbox(tenant, user))
        holders = [f.get("user") for f in box.get("full_access") or []] + list(box.get("send_as") or [])
        names = {}
        if any(holders):
            users = self.m365.users(tenant)
            names = dict(zip(users["user_principal_name"].astype(str).str.lower(),
                             users["display_name"].astype(str)))

        def named(who) -> str:
            who = str(who or "")
            name = names.get(who.lower())
            return f"{name} ({who})" if name and name != who else who
        box["full_access"] = [{**f, "name": named(f.get("user"))} for f in box.get("full_access") or []]
        box["send_as"] = [named(w) for w in box.get("send_as") or []]
        return box

    async def _load_mailbox(self, tenant: str, user: str) -> None:
        """The mailbox section: read off the event loop; shown only if the page still shows
        this user when Exchange answers."""
        self.mailbox_loading = True
        try:
            box = await asyncio.to_thread(self._read_mailbox, tenant, user)
        except Exception as exc:  # noqa: BLE001 - the page still shows everything else
            box = {"available": False, "reason": f"the mailbox could not be read: {error_text(exc)}"}
        if (self.tenant, self.user) == (tenant, user):
            self.param.update(mailbox=box, mailbox_loading=False)

    async def load_live(self) -> None:
        """The manager, devices and the last sign-ins, read from Graph off the event loop, and
        the mailbox from Exchange Online beside them; a Graph failure is an alert naming what is
        missing."""
        await asyncio.gather(self._load_graph(), self._load_mailbox(self.tenant, self.user))

    async def _load_graph(self) -> None:
        client = self.m365.graph.tenant(self.tenant)
        user = self.user
        try:
            found = await asyncio.to_thread(self.m365.manager_of, self.tenant, user)
            self.manager = (f"{found['display_name']} ({found['user_principal_name']})"
                            if found else "No manager")
        except Exception as exc:  # noqa: BLE001 - the page still shows everything else
            self.alert("warning", f"The manager could not be read: {error_text(exc)}")
        await self._load_devices(client, user)
        try:
            answer = await asyncio.to_thread(client.get, "auditLogs/signIns", params={
                "$filter": f"userId eq '{user}'", "$top": "20"})
            items = answer.get("value", [])
            self.sign_ins = pd.DataFrame([_sign_in_row(i) for i in items], columns=SIGN_IN_COLUMNS)
        except Exception as exc:  # noqa: BLE001 - sign-in logs need Entra ID P1; say so, go on
            self.alert("warning", f"Recent sign-ins could not be read: {error_text(exc)}")
