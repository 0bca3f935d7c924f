"""Hybrid users: accounts that Entra Connect syncs from on-premises Active Directory.

For such a user (`onPremisesSyncEnabled` true) AD is the source of authority for the identity,
name, contact, address and employee properties, the manager and (without password writeback) the
password: Graph answers 400 "Unable to update the specified properties for on-premises mastered
Directory Sync objects..." to a write of any of them, and a cloud-side delete would be undone by
the next sync. This module is the one list of those fields, so plans refuse them before any write
and the dashboard shows them read-only with the same reason.

What stays writable in the cloud for a synced user: usage location, alternate email, licenses,
cloud groups, directory roles, revoke sessions, MFA methods, automatic replies, devices, and
block sign-in (which the next sync reverts while the account is enabled in AD, hence a warning).
"""
from __future__ import annotations

from collections.abc import Mapping

from .validation import PROPERTIES

SYNCED_REASON = "synced from on-premises Active Directory: change it there"
DELETE_REASON = ("the user is synced from on-premises Active Directory: delete the account there "
                 "(or move it out of the sync scope) and the next directory sync deletes it here; "
                 "a delete made here would be undone by that sync")
PASSWORD_REASON = ("the user is synced from on-premises Active Directory, which owns the password: "
                   "reset it there (Graph refuses it unless password writeback is set up)")
BLOCK_WARNING = ("the user is synced from on-premises Active Directory: the next directory sync "
                 "re-enables sign-in while the account is enabled there, so disable it in AD too")

# Graph properties whose source of authority is on-premises AD for a synced user (Entra
# Connect's synced attributes; Microsoft's user resource page marks businessPhones, mobilePhone
# and onPremisesExtensionAttributes read-only for synced users, and issue threads show the 400
# for names, mail, employee data and passwords). accountEnabled and usageLocation are not here:
# Graph lets an admin change them in the cloud.
ON_PREMISES_MASTERED = frozenset((
    "businessPhones", "city", "companyName", "country", "department", "displayName",
    "employeeHireDate", "employeeId", "employeeOrgData", "employeeType", "faxNumber",
    "givenName", "jobTitle", "mail", "mailNickname", "manager", "mobilePhone", "officeLocation",
    "onPremisesExtensionAttributes", "onPremisesImmutableId", "passwordProfile", "postalCode",
    "preferredLanguage", "showInAddressList", "state", "streetAddress", "surname",
    "userPrincipalName",
))
# Our field names (plan_edit's `changes`, the user form) that map to those properties.
_EXTRA_FIELDS = {"user_principal_name": "userPrincipalName", "manager": "manager",
                 "password": "passwordProfile"}
SYNCED_FIELDS = frozenset(
    [name for name, (prop, _limit) in PROPERTIES.items() if prop in ON_PREMISES_MASTERED]
    + [name for name, prop in _EXTRA_FIELDS.items() if prop in ON_PREMISES_MASTERED])


def is_synced(user: Mapping | bool | None) -> bool:
    """Whether a user is synced from on-premises AD. Takes a Graph user dict
    (`onPremisesSyncEnabled`), a row of `m365.users()` (a Series or dict with
    `on_premises_sync`), or the flag itself."""
    if isinstance(user, str):
        return False
    if isinstance(user, Mapping) or hasattr(user, "index"):    # a dict, or a DataFrame row
        flag = user.get("onPremisesSyncEnabled", user.get("on_premises_sync"))
    else:
        flag = user
    if flag is None or isinstance(flag, str):   # "true" from a CSV is not Graph's boolean
        return False
    try:
        return bool(flag)                 # True, numpy.bool_ True, 1
    except TypeError:                     # pandas.NA: not known, so not treated as synced
        return False


def read_only_fields(user: Mapping | bool | None) -> dict[str, str]:
    """{field: reason} for the fields the Edit User form must show read-only for this user
    (empty for a cloud user). `user` as for `is_synced`."""
    if not is_synced(user):
        return {}
    return {name: SYNCED_REASON for name in sorted(SYNCED_FIELDS)}

