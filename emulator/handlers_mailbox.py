"""/users/{id}/mailboxSettings: read and update, automatic replies (out of office) included.

A user has a mailbox once a license with an Exchange Online plan gave them a `mail` address
(licensing.refresh_user); others answer Graph's 404 MailboxNotEnabledForRESTAPI.
"""
from __future__ import annotations

from datetime import datetime

from .errors import GraphFault, bad_request
from .handlers_users import live_user
from .router import Ctx, Reply, route

MSG_NO_MAILBOX = "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
MAILBOX_DEFAULT = {
    "archiveFolder": None, "timeZone": "UTC",
    "language": {"locale": "en-US", "displayName": "English (United States)"},
    "dateFormat": "M/d/yyyy", "timeFormat": "h:mm tt",
    "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
    "automaticRepliesSetting": {"status": "disabled", "externalAudience": "all", "internalReplyMessage": "",
                                "externalReplyMessage": "",
                                "scheduledStartDateTime": None, "scheduledEndDateTime": None},
    "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                     "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000"},
}
STATUSES = ("disabled", "alwaysEnabled", "scheduled")
AUDIENCES = ("none", "contactsOnly", "all")
REPLY_FIELDS = {"status", "externalAudience", "internalReplyMessage", "externalReplyMessage",
                "scheduledStartDateTime", "scheduledEndDateTime"}


def _mailbox(ctx: Ctx, uid: str):
    user = live_user(ctx, uid)
    if not user.p.get("mail"):
        raise GraphFault(404, "MailboxNotEnabledForRESTAPI", MSG_NO_MAILBOX)
    return user


def _enum_error(value) -> GraphFault:
    # What Graph's OData reader answers for an enum member it does not know (observed).
    return GraphFault(400, "RequestBodyRead", f"Requested value '{value}' was not found.")


def _when(value, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("dateTime") or not value.get("timeZone"):
        raise bad_request(f"'{name}' must be a dateTimeTimeZone: {{\"dateTime\": ..., \"timeZone\": ...}}.",
                          code="ErrorInvalidRequest")
    try:
        return datetime.fromisoformat(str(value["dateTime"]).replace("Z", "")[:26])
    except ValueError:
        raise bad_request(f"Cannot convert the literal '{value['dateTime']}' to the expected type "
                          "'Edm.DateTime'.", code="ErrorInvalidRequest") from None


def _replies(current: dict, change) -> dict:
    if not isinstance(change, dict):
        raise bad_request("automaticRepliesSetting must be an object.", code="ErrorInvalidRequest")
    for key in change:
        if key not in REPLY_FIELDS and not key.startswith("@odata."):
            raise bad_request(f"The property '{key}' does not exist on type "
                              "'microsoft.graph.automaticRepliesSetting'.", code="BadRequest")
    merged = {**current, **{k: v for k, v in change.items() if not k.startswith("@odata.")}}
    if merged["status"] not in STATUSES:
        raise _enum_error(merged["status"])
    if merged["externalAudience"] not in AUDIENCES:
        raise _enum_error(merged["externalAudience"])
    for name in ("internalReplyMessage", "externalReplyMessage"):
        if merged[name] is not None and not isinstance(merged[name], str):
            raise bad_request(f"'{name}' must be a string.", code="ErrorInvalidRequest")
    start = _when(merged.get("scheduledStartDateTime"), "scheduledStartDateTime")
    end = _when(merged.get("scheduledEndDateTime"), "scheduledEndDateTime")
    if merged["status"] == "scheduled":
        if start is None or end is None:
            raise bad_request("Scheduled automatic replies need scheduledStartDateTime and "
                              "scheduledEndDateTime.", code="ErrorInvalidRequest")
        if end <= start:
            # EWS's code for the same refusal; Graph passes Exchange's answer through.
            raise bad_request("The end time of scheduled automatic replies must be after the "
                              "start time.", code="ErrorInvalidScheduledOofDuration")
    return merged


@route("users/{uid}/mailboxSettings", "GET")
def get_mailbox(ctx: Ctx, uid: str) -> Reply:
    user = _mailbox(ctx, uid)
    settings = user.mailbox or MAILBOX_DEFAULT
    return Reply(200, {"@odata.context": ctx.context(f"users('{user.id}')/mailboxSettings"), **settings})


@route("users/{uid}/mailboxSettings", "PATCH")
def update_mailbox(ctx: Ctx, uid: str) -> Reply:
    user = _mailbox(ctx, uid)
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    settings = dict(user.mailbox or MAILBOX_DEFAULT)
    for key, value in body.items():
        if key.startswith("@odata."):
            continue
        if key not in MAILBOX_DEFAULT:
            raise bad_request(f"The property '{key}' does not exist on type "
                              "'microsoft.graph.mailboxSettings'.", code="BadRequest")
        if key == "automaticRepliesSetting":
            settings[key] = _replies(settings[key], value)
            continue
        merge = isinstance(value, dict) and isinstance(settings[key], dict)
        settings[key] = {**settings[key], **value} if merge else value
    user.mailbox = settings          # only after every field passed: a refused PATCH writes nothing
    ctx.tenant.dirty = True
    ctx.wrote = True
    return Reply(200, {"@odata.context": ctx.context(f"users('{user.id}')/mailboxSettings"), **settings})
