"""User lifecycle: create, update, delete to the recycle bin, restore within 30 days, purge.

The checks are Graph's: required properties, a verified domain in the UPN, a unique UPN
(400 with an ObjectConflict detail), password complexity, read-only and unknown properties.
A deleted user keeps its licenses and memberships for a restore, frees its seats meanwhile, and
is renamed to `<id without dashes><UPN>` like Entra does.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

from . import licensing, membership
from .errors import MSG_BAD_DOMAIN, GraphFault, bad_request, conflict, not_found
from .model import Tenant, User, now_iso
from .schema import USER_NAMES, USER_ON_PREMISES_MASTERED, USER_WRITABLE

RETENTION = timedelta(days=30)
REQUIRED = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile")
_NICKNAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
MSG_PASSWORD = ("The specified password does not comply with password complexity requirements. "
                "Please provide a different password.")
STRING_LISTS = ("businessPhones", "otherMails", "imAddresses")
# Graph's answer to a write of an on-premises-mastered property of a synced user (seen in
# microsoft-graph-docs issues #5768, #1900 and in CIPP's offboarding reports).
MSG_ON_PREMISES = ("Unable to update the specified properties for on-premises mastered Directory "
                   "Sync objects or objects currently undergoing migration.")


def synced(user: User) -> bool:
    """Synced from on-premises AD by Entra Connect: AD is the source of authority."""
    return user.p.get("onPremisesSyncEnabled") is True


def refuse_if_synced(user: User, props) -> None:
    """400 when any of `props` is mastered on-premises for this user."""
    if synced(user) and USER_ON_PREMISES_MASTERED.intersection(props):
        raise bad_request(MSG_ON_PREMISES)


def _invalid(prop: str) -> GraphFault:
    return bad_request(f"Invalid value specified for property '{prop}' of resource 'User'.")


def _check_password(profile) -> None:
    if not isinstance(profile, dict) or not isinstance(profile.get("password"), str):
        raise bad_request("A value is required for property 'passwordProfile.password' of "
                          "resource 'User'.")
    password = profile["password"]
    kinds = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if not 8 <= len(password) <= 256 or kinds < 3:
        raise bad_request(MSG_PASSWORD)


def _check_upn(tenant: Tenant, upn, exclude: User | None = None) -> str:
    if not isinstance(upn, str) or upn.count("@") != 1 or not upn.split("@")[0]:
        raise _invalid("userPrincipalName")
    if upn.split("@")[1].lower() not in tenant.verified_domains():
        raise bad_request(MSG_BAD_DOMAIN, details=[{"target": "userPrincipalName",
                                                    "code": "InvalidValue"}])
    holder = tenant.upns.get(upn.lower())
    if holder is not None and holder is not exclude and holder.deleted is None:
        raise conflict("userPrincipalName")
    return upn


def _values(body: dict) -> dict:
    """Validated property values of a POST/PATCH body, with Graph's casing."""
    out = {}
    for key, value in body.items():
        if key == "passwordProfile" or key.startswith("@odata."):
            continue                     # instance annotations such as @odata.type are allowed
        canonical = USER_NAMES.get(key.lower())
        if canonical is None:
            raise bad_request(f"The property '{key}' does not exist on type 'microsoft.graph.user'. "
                              "Make sure to only use property names that are defined by the type.",
                              code="BadRequest")
        if canonical not in USER_WRITABLE:
            raise bad_request(f"Property '{canonical}' is read-only and cannot be set.")
        if canonical in ("accountEnabled", "showInAddressList"):
            if not isinstance(value, bool):
                raise _invalid(canonical)
        elif canonical in STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _invalid(canonical)
        elif value is not None and not isinstance(value, str):
            raise _invalid(canonical)
        out[canonical] = value
    if "mailNickname" in out and not _NICKNAME.match(out["mailNickname"] or ""):
        raise _invalid("mailNickname")
    if out.get("usageLocation") is not None and not _COUNTRY.match(out["usageLocation"]):
        raise _invalid("usageLocation")
    if "displayName" in out and not (out["displayName"] or "").strip():
        raise bad_request("A value is required for property 'displayName' of resource 'User'.")
    return out


def create_user(tenant: Tenant, body) -> User:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for prop in REQUIRED:
        if body.get(prop) in (None, ""):
            raise bad_request(f"A value is required for property '{prop}' of resource 'User'.")
    values = _values(body)
    _check_password(body["passwordProfile"])
    upn = _check_upn(tenant, values["userPrincipalName"])
    stamp = now_iso()
    props = {"id": str(uuid.uuid4()), "createdDateTime": stamp, "userType": "Member",
             "lastPasswordChangeDateTime": stamp, "showInAddressList": None,
             "identities": [{"signInType": "userPrincipalName",
                             "issuer": tenant.info.initial_domain, "issuerAssignedId": upn}]}
    props.update({k: v for k, v in values.items() if v is not None})
    user = User(props, len(tenant.user_list))
    tenant.add_user(user)
    tenant.touch(user)
    membership.apply_dynamic_rules(tenant, user)
    return user


def update_user(tenant: Tenant, user: User, body) -> None:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    values = _values(body)
    refuse_if_synced(user, [*values, *(["passwordProfile"] if "passwordProfile" in body else [])])
    if "passwordProfile" in body:
        _check_password(body["passwordProfile"])
    if "userPrincipalName" in values:
        new_upn = _check_upn(tenant, values["userPrincipalName"], exclude=user)
        old = user.p["userPrincipalName"].lower()
        if tenant.upns.get(old) is user:
            del tenant.upns[old]
        tenant.upns[new_upn.lower()] = user
        for identity in user.p.get("identities") or ():
            if identity.get("signInType") == "userPrincipalName":
                identity["issuerAssignedId"] = new_upn
    for key, value in values.items():
        if value is None:
            user.p.pop(key, None)
        else:
            user.p[key] = value
    if "passwordProfile" in body:
        user.p["lastPasswordChangeDateTime"] = now_iso()
    tenant.touch(user)
    membership.apply_dynamic_rules(tenant, user)


def delete_user(tenant: Tenant, user: User) -> None:
    # A synced user is deleted in AD (or moved out of sync scope); Entra Connect then deletes
    # it here. A cloud-side delete would be undone by the next sync, so it is refused with the
    # same on-premises-mastered 400 (Microsoft documents no other text for it).
    if synced(user):
        raise bad_request(MSG_ON_PREMISES)
    licensing.release(tenant, user)
    membership.user_left_directory(tenant, user, left=True)
    stamp = now_iso()
    user.deleted = stamp
    upn = user.p["userPrincipalName"]
    tenant.upns.pop(upn.lower(), None)
    user.p["userPrincipalName"] = user.id.replace("-", "") + upn
    user.p["deletedDateTime"] = stamp
    tenant.touch(user)
    membership.apply_dynamic_rules(tenant, user)


def restorable(user: User) -> bool:
    if user.deleted is None:
        return False
    when = datetime.fromisoformat(user.deleted.replace("Z", "+00:00"))
    return datetime.now(timezone.utc) - when < RETENTION


def deleted_user(tenant: Tenant, object_id: str) -> User:
    user = tenant.users.get(object_id.lower())
    if user is None or not restorable(user):
        raise not_found(object_id)
    return user


def restore_user(tenant: Tenant, object_id: str) -> User:
    user = deleted_user(tenant, object_id)
    upn = user.p["userPrincipalName"][32:]
    holder = tenant.upns.get(upn.lower())
    if holder is not None and holder.deleted is None:
        raise conflict("userPrincipalName", "A conflicting object with one or more of the "
                       "specified property values is present in the directory.")
    user.deleted = None
    user.p["userPrincipalName"] = upn
    user.p.pop("deletedDateTime", None)
    tenant.upns[upn.lower()] = user
    licensing.reclaim(tenant, user)
    membership.user_left_directory(tenant, user, left=False)
    licensing.refresh_user(tenant, user)
    tenant.touch(user)
    membership.apply_dynamic_rules(tenant, user)
    return user


def purge_user(tenant: Tenant, object_id: str) -> None:
    user = deleted_user(tenant, object_id)
    del tenant.users[user.id]
    for group in tenant.groups_of(user.id):
        group.members.pop(user.id, None)
    for rid in [r for r, a in tenant.role_assignments.items() if a["principalId"] == user.id]:
        del tenant.role_assignments[rid]
    tenant.touch(user)        # delta reports it as removed for good ("deleted")


def set_manager(tenant: Tenant, user: User, manager_id: str) -> None:
    manager = tenant.live_user(manager_id)
    if manager is None:
        raise not_found(manager_id)
    if manager is user:
        raise bad_request("Circular reference: a user cannot be their own manager.")
    if synced(user):
        raise bad_request(MSG_ON_PREMISES)        # manager is synced from AD's manager attribute
    user.manager = manager.id
    tenant.touch(user)


def remove_manager(tenant: Tenant, user: User) -> None:
    if user.manager is None:
        raise not_found("manager")
    if synced(user):
        raise bad_request(MSG_ON_PREMISES)
    user.manager = None
    tenant.touch(user)
