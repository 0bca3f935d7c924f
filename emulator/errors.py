"""Graph's error answers: one exception carries status, code, message and details.

Operations raise `GraphFault`; the server turns it into Graph's documented body
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`
(with `details` when Graph gives them). Texts are the ones real tenants return.
"""
from __future__ import annotations

from datetime import datetime, timezone

BAD = "Request_BadRequest"
NOT_FOUND = "Request_ResourceNotFound"
UNSUPPORTED = "Request_UnsupportedQuery"

MSG_NOT_FOUND = ("Resource '{id}' does not exist or one of its queried reference-property "
                 "objects are not present.")
MSG_UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."
MSG_BAD_DOMAIN = ("The domain portion of the userPrincipalName property is invalid. You must use "
                  "one of the verified domain names in your organization.")
MSG_READ_ONLY_GROUP = "Cannot Update a mail-enabled security groups and or distribution list."
MSG_DYNAMIC_GROUP = ("Cannot add or remove members of a group with dynamic membership: its members "
                     "come from its membershipRule.")
MSG_ALREADY_MEMBER = ("One or more added object references already exist for the following "
                      "modified properties: 'members'.")
MSG_USAGE_LOCATION = "License assignment cannot be done for user with invalid usage location."
MSG_NO_SEATS = "Subscription with SKU {sku} does not have any available licenses."
MSG_INHERITED = ("User license is inherited from group membership and cannot be removed directly "
                 "from the user.")
MSG_BAD_JSON = ("Unable to read JSON request payload. Please ensure Content-Type header is set and "
                "payload is of valid JSON format.")


class GraphFault(Exception):
    """An error answer; raised anywhere below the router and rendered by the server."""

    def __init__(self, status: int, code: str, message: str, *, details: list | None = None,
                 headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self, request_id: str, client_request_id: str | None = None) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        error["innerError"] = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
        }
        return {"error": error}


def bad_request(message: str, code: str = BAD, details: list | None = None) -> GraphFault:
    return GraphFault(400, code, message, details=details)


def not_found(object_id: str) -> GraphFault:
    return GraphFault(404, NOT_FOUND, MSG_NOT_FOUND.format(id=object_id))


def unsupported(message: str = "Unsupported Query.") -> GraphFault:
    return GraphFault(400, UNSUPPORTED, message)


def conflict(target: str, message: str = MSG_UPN_TAKEN) -> GraphFault:
    return GraphFault(400, BAD, message, details=[{"target": target, "code": "ObjectConflict"}])


def method_not_allowed() -> GraphFault:
    return GraphFault(405, BAD, "Specified HTTP method is not allowed for the request target.")


def segment_not_found(segment: str) -> GraphFault:
    return GraphFault(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def unknown_property(name: str, type_name: str) -> GraphFault:
    return GraphFault(400, "BadRequest",
                      f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")


# Status -> (code, message) for the emulator's own injected answers (faults and tenant outages).
FAULT_TEXT = {
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: (NOT_FOUND, "The tenant could not be found."),
    429: ("TooManyRequests", "Too many requests. The request was throttled; retry after the "
                             "number of seconds in the Retry-After header."),
    500: ("generalException", "An unexpected error occurred."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Try the request again "
                                 "after a delay."),
    504: ("gatewayTimeout", "The gateway timed out."),
}


def injected(status: int, headers: dict | None = None) -> GraphFault:
    code, message = FAULT_TEXT.get(status, ("generalException", f"HTTP {status}"))
    return GraphFault(status, code, message, headers=headers)
