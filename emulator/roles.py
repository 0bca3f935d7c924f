"""Built-in Entra ID directory roles with their real template ids.

For built-in roles the role definition id equals the template id, in every tenant, as in Graph.
"""
from __future__ import annotations

import uuid

# (template id, display name, description, a few of its allowed resource actions)
BUILT_IN = (
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator",
     "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
     ("microsoft.directory/users/allProperties/allTasks", "microsoft.directory/groups/allProperties/allTasks")),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator",
     "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
     ("microsoft.directory/users/create", "microsoft.directory/users/delete", "microsoft.directory/groups/members/update")),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator",
     "Can reset passwords for non-administrators and Helpdesk Administrators.",
     ("microsoft.directory/users/password/update", "microsoft.directory/users/invalidateAllRefreshTokens")),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator",
     "Can manage all aspects of the Exchange product.",
     ("microsoft.office365.exchange/allEntities/basic/allTasks",)),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator",
     "Can manage all aspects of the SharePoint service.",
     ("microsoft.office365.sharePoint/allEntities/allTasks",)),
    ("69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator",
     "Can manage the Microsoft Teams service.",
     ("microsoft.teams/allEntities/allProperties/allTasks",)),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator",
     "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
     ("microsoft.directory/policies/create", "microsoft.office365.protectionCenter/allEntities/standard/read")),
    ("b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator",
     "Can perform common billing related tasks like updating payment information.",
     ("microsoft.commerce.billing/allEntities/allProperties/allTasks",)),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader",
     "Can read everything that a Global Administrator can, but not update anything.",
     ("microsoft.directory/users/allProperties/read", "microsoft.directory/groups/allProperties/read")),
    ("4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator",
     "Can manage product licenses on users and groups.",
     ("microsoft.directory/users/assignLicense", "microsoft.directory/groups/assignLicense")),
    ("fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator",
     "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.",
     ("microsoft.directory/groups/create", "microsoft.directory/groups/members/update")),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator",
     "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
     ("microsoft.directory/roleAssignments/allProperties/allTasks",)),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader",
     "Can read sign-in and audit reports.",
     ("microsoft.directory/auditLogs/allProperties/read", "microsoft.directory/signInReports/allProperties/read")),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator",
     "Can access to view, set and reset authentication method information for any non-admin user.",
     ("microsoft.directory/users/authenticationMethods/create",)),
    ("966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator",
     "Can reset passwords for non-administrators and Password Administrators.",
     ("microsoft.directory/users/password/update",)),
    ("17315797-102d-40b4-93e0-432062caca18", "Compliance Administrator",
     "Can read and manage compliance configuration and reports in Microsoft Entra ID and Microsoft 365.",
     ("microsoft.office365.complianceManager/allEntities/allTasks",)),
    ("3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator",
     "Can manage all aspects of the Intune product.",
     ("microsoft.intune/allEntities/allTasks",)),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator",
     "Can create and manage all aspects of app registrations and enterprise apps.",
     ("microsoft.directory/applications/create", "microsoft.directory/servicePrincipals/create")),
    ("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator",
     "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
     ("microsoft.directory/applications/create",)),
    ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers",
     "Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
     ("microsoft.directory/users/standard/read", "microsoft.directory/groups/standard/read")),
    ("95e79109-95c0-4d8e-aee3-d01accf2d47b", "Guest Inviter",
     "Can invite guest users independent of the 'members can invite guests' setting.",
     ("microsoft.directory/users/inviteGuest",)),
    ("11648597-926c-4cf3-9c36-bcebb0ba8dcc", "Power Platform Administrator",
     "Can create and manage all aspects of Microsoft Dynamics 365, Power Apps and Power Automate.",
     ("microsoft.powerApps/allEntities/allTasks",)),
    ("f023fd81-a637-4b56-95fd-791ac0226033", "Service Support Administrator",
     "Can read service health information and manage support tickets.",
     ("microsoft.office365.supportTickets/allEntities/allTasks",)),
    ("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator",
     "Can manage Conditional Access capabilities.",
     ("microsoft.directory/conditionalAccessPolicies/create",)),
)

BY_NAME = {name: template for template, name, _, _ in BUILT_IN}
GLOBAL_ADMIN = BY_NAME["Global Administrator"]


def role_definitions() -> list[dict]:
    return [{
        "id": template, "description": description, "displayName": name, "isBuiltIn": True,
        "isEnabled": True, "resourceScopes": ["/"], "templateId": template, "version": "1",
        "rolePermissions": [{"allowedResourceActions": list(actions), "condition": None}],
    } for template, name, description, actions in BUILT_IN]


DEFINITIONS = role_definitions()
DEFINITION_BY_ID = {d["id"]: d for d in DEFINITIONS}


def directory_role(tenant_id: str, template_id: str) -> dict:
    """The activated directoryRole object that memberOf lists for a role holder."""
    definition = DEFINITION_BY_ID[template_id]
    return {"@odata.type": "#microsoft.graph.directoryRole",
            "id": str(uuid.uuid5(uuid.UUID(tenant_id), template_id)), "deletedDateTime": None,
            "description": definition["description"], "displayName": definition["displayName"],
            "roleTemplateId": template_id}
