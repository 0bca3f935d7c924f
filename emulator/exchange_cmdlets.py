"""The cmdlets InvokeCommand runs (docs/EXCHANGE.md's table, plus Remove-MailboxPermission and
Remove-RecipientPermission).

`run(tenant, name, parameters)` binds the parameters (emulator/exchange_params.py) and returns
a `Result`: the objects (the handler pages them and applies `$select`), Exchange's warnings,
and whether it was a write and changed anything. Member writes go through
membership.exchange_member, so Graph's `members`, `memberOf` and `members@delta` agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import exchange as X
from . import membership
from .exchange_params import DEFAULT_RESULT_SIZE, bind
from .model import Group, Tenant

MORE_RESULTS = ("There are more results available than are currently displayed. To view them, "
                "increase the value for the ResultSize parameter.")


def _same(item):
    return item


@dataclass
class Result:
    """`value` holds the answer's objects, or what `render` turns into them: a listing renders
    only the page asked for (Get-Mailbox of a 100,000-user tenant stays cheap per page)."""
    value: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    write: bool = False
    changed: bool = False
    render: object = _same

    def page(self, offset: int, size: int) -> list[dict]:
        return [self.render(item) for item in self.value[offset:offset + size]]


def run(tenant: Tenant, cmdlet: str, parameters) -> Result:
    params = bind(cmdlet, parameters)
    return HANDLERS[cmdlet](tenant, params)


def _limited(items: list, params: dict, render=_same) -> Result:
    size = params.get("ResultSize", DEFAULT_RESULT_SIZE)
    result = Result(items[:size], render=render)
    if len(items) > size:
        result.warnings.append(MORE_RESULTS)
    return result


# ---- mailboxes -------------------------------------------------------------------------------

def get_mailbox(tenant: Tenant, params: dict) -> Result:
    if "Identity" in params:
        users = [X.find_mailbox(tenant, params["Identity"])]
    else:
        users = X.mailboxes(tenant)
    wanted = params.get("RecipientTypeDetails")
    if wanted is not None:
        users = [u for u in users if X.mailbox_kind(tenant, u) in wanted]
    return _limited(users, params, lambda user: X.mailbox_view(tenant, user))


def set_mailbox(tenant: Tenant, params: dict) -> Result:
    user = X.find_mailbox(tenant, params["Identity"])
    st = X.state(tenant)
    entry = dict(st.mailboxes.get(user.id.lower(), {}))
    before = dict(entry)
    if "Type" in params:
        entry["type"] = params["Type"]
    if "ForwardingSmtpAddress" in params:
        entry["forward_smtp"] = params["ForwardingSmtpAddress"]
    if "ForwardingAddress" in params:
        target = params["ForwardingAddress"]
        if target is None:
            entry["forward_to"] = None
        else:
            found = X.find_user(tenant, target)
            if not X.has_mailbox(tenant, found):
                raise X.not_found(tenant, target)
            entry["forward_to"] = found.id.lower()
    if "DeliverToMailboxAndForward" in params:
        entry["deliver"] = params["DeliverToMailboxAndForward"]
    if "HiddenFromAddressListsEnabled" in params:
        entry["hidden"] = params["HiddenFromAddressListsEnabled"]
    defaults = {"type": X.REGULAR, "forward_smtp": None, "forward_to": None, "deliver": False,
                "hidden": False}
    changed = any(entry.get(k, d) != before.get(k, d) for k, d in defaults.items())
    result = Result(write=True, changed=changed)
    if changed:
        st.mailboxes[user.id.lower()] = entry
        tenant.dirty = True
    else:
        result.warnings.append(f"The command completed successfully but no settings of "
                               f"'{X.name_of(user)}' have been modified.")
    return result


def mailbox_statistics(tenant: Tenant, params: dict) -> Result:
    user = X.find_mailbox(tenant, params["Identity"])
    size, items = X.size_of(tenant, user)
    deleted = size // 40
    return Result([{
        "DisplayName": user.p.get("displayName"), "MailboxGuid": X.object_guid(user.id, "mailbox"),
        "ItemCount": items, "TotalItemSize": X.byte_text(size),
        "DeletedItemCount": max(0, items // 40), "TotalDeletedItemSize": X.byte_text(deleted),
        "MailboxTypeDetail": X.mailbox_kind(tenant, user), "IsArchiveMailbox": False,
        "StorageLimitStatus": "BelowLimit" if size < X.quota(tenant, user) else "MailboxDisabled",
    }])


# ---- permissions ---------------------------------------------------------------------------

def _principal(tenant: Tenant, identity) -> tuple[str, str]:
    """(object id, name in permission entries) of a user or a mail-enabled security group."""
    user = X.find_user(tenant, identity)
    if user is not None:
        return user.id.lower(), user.p["userPrincipalName"]
    group = X.find_group(tenant, identity)
    if group is not None and X.group_kind(group) == "MailUniversalSecurityGroup":
        return group.id.lower(), X.principal_name(tenant, group.id)
    raise X.not_found(tenant, identity)


def _full_access_entry(name: str, user: str, inherited=False) -> dict:
    return {"Identity": name, "User": user, "AccessRights": ["FullAccess"] if user != X.SELF
            else ["FullAccess", "ReadPermission"], "IsInherited": inherited, "Deny": False,
            "InheritanceType": "All"}


def _send_as_entry(name: str, trustee: str) -> dict:
    return {"Identity": name, "Trustee": trustee, "AccessControlType": "Allow",
            "AccessRights": ["SendAs"], "IsInherited": False, "InheritanceType": "None"}


def _grants(tenant: Tenant, user, key: str) -> list[tuple[dict, str]]:
    """(grant, trustee name) of a mailbox's live grants of one kind ("full" or "send_as")."""
    grants = X.state(tenant).mailboxes.get(user.id.lower(), {}).get(key, [])
    return [(g, name) for g in grants for name in [X.principal_name(tenant, g["id"])] if name]


def get_mailbox_permission(tenant: Tenant, params: dict) -> Result:
    user = X.find_mailbox(tenant, params["Identity"])
    name = X.name_of(user)
    entries = [_full_access_entry(name, X.SELF)]
    entries += [_full_access_entry(name, trustee) for _, trustee in _grants(tenant, user, "full")]
    if "User" in params:
        _, wanted = _principal(tenant, params["User"])
        entries = [e for e in entries if e["User"] == wanted]
    return _limited(entries, params)


def _change_grant(tenant: Tenant, params: dict, key: str, trustee_param: str, add: bool) -> Result:
    user = X.find_mailbox(tenant, params["Identity"])
    principal, trustee = _principal(tenant, params[trustee_param])
    st = X.state(tenant)
    entry = st.entry(user.id)
    grants = entry.setdefault(key, [])
    held = next((g for g in grants if g["id"] == principal), None)
    name = X.name_of(user)
    shown = (_full_access_entry(name, trustee) if key == "full" else _send_as_entry(name, trustee))
    result = Result([shown] if add else [], write=True)
    if add and held is None:
        grant = {"id": principal}
        if key == "full":
            grant["automap"] = params.get("AutoMapping", True)
        grants.append(grant)
        result.changed = True
    elif not add and held is not None:
        grants.remove(held)
        result.changed = True
    elif add:
        result.warnings.append(f"An existing permission entry was found for user: {trustee}."
                               if key == "full" else
                               f'The appropriate access control entry is already present on the '
                               f'object "{name}" for account "{trustee}".')
    else:
        result.warnings.append(f'Can\'t remove the access control entry on the object "{name}" for '
                               f'account "{trustee}" because the ACE doesn\'t exist on the object.')
    if not grants:
        entry.pop(key, None)
    tenant.dirty = tenant.dirty or result.changed
    return result


def get_recipient_permission(tenant: Tenant, params: dict) -> Result:
    users = ([X.find_mailbox(tenant, params["Identity"])] if "Identity" in params
             else X.mailboxes(tenant))
    entries = []
    for user in users:
        name = X.name_of(user)
        entries.append(_send_as_entry(name, X.SELF))
        entries += [_send_as_entry(name, trustee) for _, trustee in _grants(tenant, user, "send_as")]
    if "Trustee" in params:
        _, wanted = _principal(tenant, params["Trustee"])
        entries = [e for e in entries if e["Trustee"] == wanted]
    return _limited(entries, params)


# ---- distribution groups -------------------------------------------------------------------

def _distribution_group(tenant: Tenant, identity, *, writing: bool = False) -> Group:
    group = X.find_group(tenant, identity)
    kind = X.group_kind(group) if group is not None else ""
    if kind == "GroupMailbox" and writing:
        raise X.refused(f"The group '{X.name_of(group)}' is a Microsoft 365 group. Use "
                        "Add-UnifiedGroupLinks or Remove-UnifiedGroupLinks (or Microsoft Graph) "
                        "to manage its members; distribution group cmdlets can't change them.")
    if kind not in ("MailUniversalDistributionGroup", "MailUniversalSecurityGroup"):
        raise X.not_found(tenant, identity)
    return group


def get_distribution_group(tenant: Tenant, params: dict) -> Result:
    if "Identity" in params:
        groups = [_distribution_group(tenant, params["Identity"])]
    else:
        groups = [g for g in X.live_groups(tenant) if X.group_kind(g).startswith("MailUniversal")]
    return _limited(groups, params, lambda group: X.group_view(tenant, group))


def get_group_members(tenant: Tenant, params: dict) -> Result:
    group = _distribution_group(tenant, params["Identity"])
    out = []
    for member_id, kind in group.members.items():
        obj = tenant.users.get(member_id) if kind == "user" else tenant.groups.get(member_id)
        if obj is not None and getattr(obj, "deleted", None) is None:
            out.append(obj)
    return _limited(out, params, lambda obj: X.recipient_view(tenant, obj))


def _member(tenant: Tenant, identity, *, removing: bool = False) -> tuple[str, str]:
    # Joining needs a mail-enabled recipient; a member without mail (demo data, or a license
    # removed since) can still be taken out.
    user = X.find_user(tenant, identity)
    if user is not None and (user.p.get("mail") or removing):
        return user.id.lower(), "user"
    group = X.find_group(tenant, identity) if user is None else None
    if group is not None and X.group_kind(group).startswith("MailUniversal"):
        return group.id.lower(), "group"
    raise X.not_found(tenant, identity)


def change_member(tenant: Tenant, params: dict, add: bool) -> Result:
    group = _distribution_group(tenant, params["Identity"], writing=True)
    member_id, kind = _member(tenant, params["Member"], removing=not add)
    inside = member_id in group.members
    if add and inside:
        raise X.refused(f"The recipient {params['Member']} is already a member of the group "
                        f"{X.name_of(group)}.", X.ALREADY_MEMBER)
    if not add and not inside:
        raise X.refused(f"The recipient {params['Member']} isn't a member of the group "
                        f"{X.name_of(group)}.", X.NOT_MEMBER)
    if add and member_id == group.id.lower():
        raise X.refused(f"The group {X.name_of(group)} can't be a member of itself.")
    membership.exchange_member(tenant, group, member_id, kind, add)
    return Result(write=True, changed=True)


def get_dynamic_groups(tenant: Tenant, params: dict) -> Result:
    groups = X.state(tenant).dynamic
    if "Identity" in params:
        key = params["Identity"].lower()
        groups = [g for g in groups if key in (g["Name"].lower(), g["Alias"].lower(),
                                               g["PrimarySmtpAddress"].lower(), g["Guid"])]
        if not groups:
            raise X.not_found(tenant, params["Identity"])
    return _limited([dict(g) for g in groups], params)


HANDLERS = {
    "Get-Mailbox": get_mailbox, "Set-Mailbox": set_mailbox,
    "Get-MailboxStatistics": mailbox_statistics,
    "Get-MailboxPermission": get_mailbox_permission,
    "Add-MailboxPermission": lambda t, p: _change_grant(t, p, "full", "User", True),
    "Remove-MailboxPermission": lambda t, p: _change_grant(t, p, "full", "User", False),
    "Get-RecipientPermission": get_recipient_permission,
    "Add-RecipientPermission": lambda t, p: _change_grant(t, p, "send_as", "Trustee", True),
    "Remove-RecipientPermission": lambda t, p: _change_grant(t, p, "send_as", "Trustee", False),
    "Get-DistributionGroup": get_distribution_group,
    "Get-DistributionGroupMember": get_group_members,
    "Add-DistributionGroupMember": lambda t, p: change_member(t, p, True),
    "Remove-DistributionGroupMember": lambda t, p: change_member(t, p, False),
    "Get-DynamicDistributionGroup": get_dynamic_groups,
}
