"""Property names of the Graph types the emulator serves, as Graph spells them.

Graph matches property names case-insensitively but answers with its own casing; a `$select`
of an unknown property is a 400. Users answer a small default set without `$select` (Graph's
documented behaviour: `accountEnabled`, `usageLocation`, `assignedLicenses`, `department`...
only come when selected); groups answer all their properties except the licensing ones.
"""
from __future__ import annotations

# Every property of microsoft.graph.user in v1.0 (api-reference/v1.0/resources/user.md in
# microsoftgraph/microsoft-graph-docs-contrib), so any `$select` Graph accepts is accepted here;
# the ones the emulator does not model answer null (collections: []), see USER_MISSING.
USER_PROPERTIES = (
    "id", "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans",
    "authorizationInfo", "birthday", "businessPhones", "city", "companyName",
    "consentProvidedForMinor", "country", "createdDateTime", "creationType",
    "customSecurityAttributes", "deletedDateTime", "department", "displayName",
    "employeeHireDate", "employeeId", "employeeLeaveDateTime", "employeeOrgData", "employeeType",
    "externalUserState", "externalUserStateChangeDateTime", "faxNumber", "givenName", "hireDate",
    "identities", "imAddresses", "interests", "isResourceAccount", "jobTitle",
    "lastPasswordChangeDateTime", "legalAgeGroupClassification", "licenseAssignmentStates",
    "mail", "mailboxSettings", "mailNickname", "mobilePhone", "mySite", "officeLocation",
    "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesExtensionAttributes",
    "onPremisesImmutableId", "onPremisesLastSyncDateTime", "onPremisesProvisioningErrors",
    "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "passwordProfile",
    "pastProjects", "postalCode", "preferredDataLocation", "preferredLanguage", "preferredName",
    "provisionedPlans", "proxyAddresses", "refreshTokensValidFromDateTime", "responsibilities",
    "schools", "securityIdentifier", "serviceProvisioningErrors", "showInAddressList",
    "signInActivity", "signInSessionsValidFromDateTime", "skills", "state", "streetAddress",
    "surname", "usageLocation", "userPrincipalName", "userType",
)
# Unmodelled properties that Graph answers with a value rather than null when unset.
USER_MISSING = {
    "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)},
    "preferredName": "",          # documented: "Not supported. This attribute returns an empty string."
}
# Properties whose source of authority is on-premises AD for a user with onPremisesSyncEnabled
# (Entra Connect's synced attributes; the docs mark businessPhones, mobilePhone and
# onPremisesExtensionAttributes read-only for such users, and issue threads show the same 400
# for names, mail, employee data and passwords without password writeback). accountEnabled and
# usageLocation stay writable in the cloud: admins block sign-in of synced users there.
USER_ON_PREMISES_MASTERED = frozenset((
    "businessPhones", "city", "companyName", "country", "department", "displayName",
    "employeeHireDate", "employeeId", "employeeOrgData", "employeeType", "faxNumber",
    "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation",
    "onPremisesExtensionAttributes", "onPremisesImmutableId", "passwordProfile", "postalCode",
    "preferredLanguage", "showInAddressList", "state", "streetAddress", "surname",
    "userPrincipalName",
))
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
USER_WRITABLE = frozenset((
    "accountEnabled", "ageGroup", "businessPhones", "city", "companyName", "country",
    "department", "displayName", "employeeHireDate", "employeeId", "employeeType", "faxNumber",
    "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation",
    "onPremisesImmutableId", "otherMails", "passwordPolicies", "postalCode", "preferredLanguage",
    "showInAddressList", "state", "streetAddress", "surname", "usageLocation",
    "userPrincipalName", "userType",
))
USER_FILTERABLE = {
    "id": "str", "userPrincipalName": "str", "displayName": "str", "givenName": "str",
    "surname": "str", "mail": "str", "mailNickname": "str", "department": "str",
    "jobTitle": "str", "accountEnabled": "bool", "usageLocation": "str", "userType": "str",
    "employeeId": "str", "companyName": "str", "city": "str", "country": "str", "state": "str",
    "officeLocation": "str", "postalCode": "str", "mobilePhone": "str",
    "preferredLanguage": "str", "creationType": "str", "externalUserState": "str",
    "onPremisesSyncEnabled": "bool", "createdDateTime": "date", "employeeHireDate": "date",
    "assignedLicenses": "skus", "proxyAddresses": "strs", "otherMails": "strs",
    "businessPhones": "strs", "imAddresses": "strs",
}
USER_ORDERBY_SIMPLE = frozenset(("displayName", "userPrincipalName"))
USER_SEARCHABLE = ("displayName", "givenName", "surname", "mail", "userPrincipalName",
                   "mailNickname", "jobTitle", "department", "officeLocation", "employeeId")

GROUP_PROPERTIES = (
    "id", "assignedLicenses", "classification", "createdDateTime", "deletedDateTime",
    "description", "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole",
    "licenseProcessingState", "mail", "mailEnabled", "mailNickname", "membershipRule",
    "membershipRuleProcessingState", "onPremisesSyncEnabled", "preferredDataLocation",
    "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
    "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme",
    "visibility",
)
GROUP_DEFAULT = ("id", "deletedDateTime", "classification", "createdDateTime", "description",
                 "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail",
                 "mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState",
                 "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
                 "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
                 "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme",
                 "visibility")
GROUP_WRITABLE = frozenset(("description", "displayName", "mailNickname", "visibility",
                            "classification", "preferredLanguage", "theme"))
GROUP_FILTERABLE = {
    "id": "str", "displayName": "str", "mail": "str", "mailNickname": "str",
    "mailEnabled": "bool", "securityEnabled": "bool", "groupTypes": "strs",
    "resourceProvisioningOptions": "strs", "proxyAddresses": "strs", "classification": "str",
    "isAssignableToRole": "bool", "onPremisesSyncEnabled": "bool", "createdDateTime": "date",
    "description": "str", "visibility": "str", "assignedLicenses": "skus",
}
GROUP_ORDERBY_SIMPLE = frozenset(("displayName",))
GROUP_SEARCHABLE = ("displayName", "description", "mail", "mailNickname")

# Collections answer [] rather than null when empty, as Graph does.
COLLECTIONS = frozenset((
    "assignedLicenses", "assignedPlans", "businessPhones", "identities", "imAddresses",
    "licenseAssignmentStates", "otherMails", "provisionedPlans", "proxyAddresses", "groupTypes",
    "resourceBehaviorOptions", "resourceProvisioningOptions", "interests", "pastProjects",
    "responsibilities", "schools", "skills", "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
))


def missing(name: str):
    """What Graph answers for a property an object does not hold."""
    if name in COLLECTIONS:
        return []
    value = USER_MISSING.get(name)
    return dict(value) if isinstance(value, dict) else value


def canonical_map(names) -> dict[str, str]:
    return {n.lower(): n for n in names}


USER_NAMES = canonical_map(USER_PROPERTIES)
GROUP_NAMES = canonical_map(GROUP_PROPERTIES)


class Kind:
    """What the query parser needs to know about one resource type."""

    def __init__(self, name, names, default, filterable, orderby_simple, searchable, directory):
        self.name = name                      # "user" -> microsoft.graph.user
        self.names = names                    # lower -> canonical
        self.default = default                # fields without $select
        self.filterable = {k.lower(): (k, t) for k, t in filterable.items()}
        self.orderby_simple = orderby_simple  # $orderby allowed without advanced query
        self.searchable = searchable
        self.directory = directory            # advanced-query rules apply (ConsistencyLevel)


USER = Kind("user", USER_NAMES, USER_DEFAULT, USER_FILTERABLE, USER_ORDERBY_SIMPLE,
            USER_SEARCHABLE, True)
GROUP = Kind("group", GROUP_NAMES, GROUP_DEFAULT, GROUP_FILTERABLE, GROUP_ORDERBY_SIMPLE,
             GROUP_SEARCHABLE, True)


def simple_kind(name: str, properties, filterable=None) -> Kind:
    """A resource without advanced-query rules (role assignments, sign-ins, relationships...)."""
    names = canonical_map(properties)
    return Kind(name, names, tuple(properties), filterable or {}, frozenset(properties), (), False)
