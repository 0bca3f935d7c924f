"""Group membership writes and the rules Graph enforces on them.

Distribution lists and mail-enabled security groups belong to Exchange (its
Add-/Remove-DistributionGroupMember write them, `exchange_member`) and dynamic groups to their
rule: Graph refuses member writes to both. `members@odata.bind` adds up to 20 members in
one all-or-nothing request. Members of a licensed group get (or lose) its licenses at once.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .errors import (MSG_ALREADY_MEMBER, MSG_DYNAMIC_GROUP, MSG_READ_ONLY_GROUP, bad_request,
                     not_found)
from .licensing import refresh_user
from .model import Group, Tenant, User
from .schema import USER_NAMES

BIND_LIMIT = 20
_REF = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
                  r"'?\)?/?$")
_RULE = re.compile(r'^\(?\s*user\.(\w+)\s+-(eq|ne|startsWith)\s+(?:"([^"]*)"|(true|false))\s*\)?$',
                   re.IGNORECASE)


def ref_id(value) -> str:
    """The object id at the end of an `@odata.id` URL (any host: the client's Graph base)."""
    text = str(value or "").strip()
    m = _REF.search(text)
    if not m:
        raise bad_request(f"Invalid object identifier '{text}'.")
    return m.group(1).lower()


def check_writable(group: Group) -> None:
    if group.read_only_kind:
        raise bad_request(MSG_READ_ONLY_GROUP)
    if group.dynamic:
        raise bad_request(MSG_DYNAMIC_GROUP)


def _member(tenant: Tenant, object_id: str) -> tuple[str, str]:
    user = tenant.live_user(object_id)
    if user is not None:
        return user.id, "user"
    group = tenant.group(object_id)
    if group is not None:
        return group.id, "group"
    raise not_found(object_id)


def _joined(tenant: Tenant, group: Group, member_id: str, kind: str, added: bool) -> None:
    if added:
        group.members[member_id] = kind
    else:
        group.members.pop(member_id, None)
    tenant.log_member(group, member_id, kind, added)
    if kind == "user" and group.licenses:
        user = tenant.users[member_id]
        if user.deleted is None:
            refresh_user(tenant, user)


def add_member(tenant: Tenant, group: Group, ref) -> None:
    check_writable(group)
    member_id, kind = _member(tenant, ref_id(ref))
    if member_id in group.members:
        raise bad_request(MSG_ALREADY_MEMBER)
    _joined(tenant, group, member_id, kind, True)


def bind_members(tenant: Tenant, group: Group, refs) -> None:
    """PATCH members@odata.bind: all listed members are added, or none is."""
    if not isinstance(refs, list):
        raise bad_request("Invalid value for 'members@odata.bind': an array of URLs is expected.")
    if len(refs) > BIND_LIMIT:
        raise bad_request(f"Cannot add more than {BIND_LIMIT} members in a single request: "
                          f"{len(refs)} references were given.")
    check_writable(group)
    found = []
    for ref in refs:
        member_id, kind = _member(tenant, ref_id(ref))
        if member_id in group.members or any(m == member_id for m, _ in found):
            raise bad_request(MSG_ALREADY_MEMBER)
        found.append((member_id, kind))
    for member_id, kind in found:
        _joined(tenant, group, member_id, kind, True)


def remove_member(tenant: Tenant, group: Group, member_id: str) -> None:
    check_writable(group)
    key = member_id.lower()
    kind = group.members.get(key)
    user = tenant.users.get(key)
    if kind is None or (user is not None and user.deleted is not None):
        raise not_found(member_id)
    _joined(tenant, group, key, kind, False)


def exchange_member(tenant: Tenant, group: Group, member_id: str, kind: str, added: bool) -> None:
    """Add-/Remove-DistributionGroupMember (emulator/exchange_cmdlets.py): Exchange owns the
    members of distribution lists and mail-enabled security groups that Graph refuses to write;
    the change is logged as Graph's are, so `members`, `memberOf` and `members@delta` agree."""
    _joined(tenant, group, member_id.lower(), kind, added)


def user_left_directory(tenant: Tenant, user: User, left: bool) -> None:
    """A user deleted (left=True) or restored: members@delta of its groups says so."""
    for group in tenant.groups_of(user.id):
        tenant.log_member(group, user.id, "user", not left)


# -- dynamic membership -----------------------------------------------------------------------

@lru_cache(maxsize=256)
def rule_matcher(rule: str):
    """A predicate for simple rules (`user.department -eq "Sales" -and ...`), else None."""
    clauses = []
    for part in re.split(r"\s+-and\s+", rule.strip(), flags=re.IGNORECASE):
        m = _RULE.match(part.strip())
        if not m:
            return None
        prop, op, text, flag = m.groups()
        value = text.lower() if text is not None else flag.lower() == "true"
        clauses.append((USER_NAMES.get(prop.lower(), prop), op.lower(), value))

    def match(props: dict) -> bool:
        for prop, op, value in clauses:
            actual = props.get(prop)
            if isinstance(value, str):
                actual = actual.lower() if isinstance(actual, str) else ""
            if op == "eq" and actual != value:
                return False
            if op == "ne" and actual == value:
                return False
            if op == "startswith" and not str(actual).startswith(str(value)):
                return False
        return True
    return match


def apply_dynamic_rules(tenant: Tenant, user: User) -> None:
    """Re-evaluate the dynamic groups for one user after it was created or changed."""
    for group in tenant.group_list:
        rule = group.p.get("membershipRule")
        if not rule:
            continue
        match = rule_matcher(rule)
        if match is None:
            continue
        inside = user.id in group.members
        wanted = user.deleted is None and match(user.p)
        if wanted != inside:
            _joined(tenant, group, user.id, "user", wanted)
