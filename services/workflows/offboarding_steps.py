"""Offboarding's Graph v1.0 extras: remove MFA methods, automatic replies, retire Intune devices,
hand the user's groups over to their manager.

Each `plan_*` function reads what the step will touch (so the plan names every method, device and
group) and returns (steps, problems, warnings, count); `count` is how much the option would
change, the figure `unchanged_reasons` needs. Every step reads the current state before it
writes, so re-applying a plan repeats nothing. What the client and Graph (and the emulator) must
agree on is in docs/OFFBOARDING.md.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from ..access import is_no_intune
from ..errors import GraphError, NotFound
from .plan import FAILED, ApplyContext, Outcome, Problem, Step, done, graph_failure, skipped
from .resolve import group_kind

# Graph documents no length limit for automatic replies; Exchange keeps them as HTML in the
# mailbox. 8,000 characters is several pages of text: what a real out-of-office needs, while a
# document pasted by mistake is caught before anything is written.
AUTO_REPLY_LIMIT = 8000
AUDIENCES = {"all": "all", "contactsonly": "contactsOnly", "contacts_only": "contactsOnly",
             "contacts": "contactsOnly", "none": "none"}
PASSWORD_TYPE = "#microsoft.graph.passwordAuthenticationMethod"
# @odata.type -> (collection to DELETE from, what an MSP calls it)
METHOD_KINDS = {
    "#microsoft.graph.phoneAuthenticationMethod": ("phoneMethods", "phone"),
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod":
        ("microsoftAuthenticatorMethods", "Microsoft Authenticator"),
    "#microsoft.graph.fido2AuthenticationMethod": ("fido2Methods", "FIDO2 security key"),
    "#microsoft.graph.softwareOathAuthenticationMethod": ("softwareOathMethods", "software OATH token"),
    "#microsoft.graph.emailAuthenticationMethod": ("emailMethods", "email (password reset)"),
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod":
        ("windowsHelloForBusinessMethods", "Windows Hello for Business"),
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod":
        ("temporaryAccessPassMethods", "Temporary Access Pass"),
}
# Deletion order. v1.0 does not say which method is the user's default (that is beta-only) and
# Graph refuses to delete the default while others remain, so the methods Entra most likely
# picked as default (Authenticator, then a mobile phone) go last; an alternateMobile must go
# before the mobile number. A refusal anyway is retried after the rest (see `_method_step`).
ORDER = ("temporaryAccessPassMethods", "emailMethods", "softwareOathMethods", "phone:office",
         "phone:alternateMobile", "windowsHelloForBusinessMethods", "fido2Methods", "phone:mobile",
         "microsoftAuthenticatorMethods")
RETIRING = {"retirepending", "retireissued", "retiredpending"}


def _failure(exc: GraphError) -> Outcome:
    return Outcome(FAILED, graph_failure(exc))


def _listing_problem(field: str, what: str, exc: GraphError) -> Problem:
    return Problem(field, f"could not read {what}: {graph_failure(exc)}")


# -- remove MFA methods ---------------------------------------------------------------------------

def _mask(number: str) -> str:
    digits = re.sub(r"\D", "", number or "")
    return f"ending {digits[-4:]}" if len(digits) >= 4 else "number hidden"


def describe_method(method: dict) -> str:
    """A human description that identifies the method without exposing a full number or address."""
    kind = method.get("@odata.type", "")
    name = METHOD_KINDS.get(kind, ("", kind.rsplit(".", 1)[-1]))[1]
    if kind.endswith("phoneAuthenticationMethod"):
        return f"{method.get('phoneType', 'mobile')} phone {_mask(method.get('phoneNumber', ''))}"
    if kind.endswith("emailAuthenticationMethod"):
        local, _, domain = (method.get("emailAddress") or "").partition("@")
        return f"{name} {local[:1]}***@{domain}" if domain else name
    if kind.endswith("temporaryAccessPassAuthenticationMethod"):
        return f"{name} created {str(method.get('createdDateTime') or '')[:10]}".strip()
    label = method.get("displayName") or method.get("model")
    if not label:
        return name
    on_device = kind.endswith(("AuthenticatorAuthenticationMethod", "HelloForBusinessAuthenticationMethod"))
    return f"{name} on {label}" if on_device else f"{name} {label}"


def _order_key(method: dict) -> int:
    collection = METHOD_KINDS[method["@odata.type"]][0]
    key = f"phone:{method.get('phoneType', 'mobile')}" if collection == "phoneMethods" else collection
    return ORDER.index(key) if key in ORDER else 0


def plan_remove_mfa(client, user_id: str):
    try:
        listed = list(client.pages(f"users/{user_id}/authentication/methods"))
    except GraphError as exc:
        return [], [_listing_problem("remove_mfa", "the user's authentication methods", exc)], [], 0
    warnings = [Problem("remove_mfa", f"unknown method type {m.get('@odata.type')} is left in place")
                for m in listed if m.get("@odata.type") not in METHOD_KINDS
                and m.get("@odata.type") != PASSWORD_TYPE]
    methods = sorted((m for m in listed if m.get("@odata.type") in METHOD_KINDS), key=_order_key)
    steps = [_method_step(m, last=i == len(methods) - 1) for i, m in enumerate(methods)]
    return steps, [], warnings, len(methods)


def _method_path(user_id: str, method: dict) -> str:
    return f"users/{user_id}/authentication/{METHOD_KINDS[method['@odata.type']][0]}/{method['id']}"


def _present(ctx: ApplyContext) -> set[str]:
    return {m["id"].lower() for m in ctx.client.pages(f"users/{ctx.user_id}/authentication/methods")}


def _refused_for_now(exc: GraphError) -> bool:
    """Graph's refusals that go away once the other methods are gone."""
    text = (exc.graph_message or "").lower()
    return exc.status == 400 and ("default method" in text or "default authentication method" in text
                                  or "alternatemobile" in text.replace(" ", ""))


def _method_step(method: dict, *, last: bool) -> Step:
    label = describe_method(method)

    def run(ctx: ApplyContext) -> Outcome:
        deferred: list[tuple[dict, str]] = ctx.cache.setdefault("mfa_deferred", [])
        outcome = skipped("already removed")
        if method["id"].lower() in _present(ctx):
            try:
                ctx.client.request("DELETE", _method_path(ctx.user_id, method))
                outcome = done()
            except NotFound:
                outcome = skipped("already removed")
            except GraphError as exc:
                if not (_refused_for_now(exc) and not last):
                    return _failure(exc)
                deferred.append((method, label))
                return skipped(f"Graph refused it while other methods remain ({exc.graph_message}); "
                               "it is removed again after the others, in the last MFA step")
        if not last or not deferred:
            return outcome
        # The last method is gone: what Graph refused earlier (the user's default) may go now.
        retried, refused = [], []
        for item, name in deferred:
            try:
                ctx.client.request("DELETE", _method_path(ctx.user_id, item))
                retried.append(name)
            except NotFound:
                retried.append(name)
            except GraphError as exc:
                refused.append(f"{name}: {graph_failure(exc)}")
        deferred.clear()
        if refused:
            return Outcome(FAILED, "Graph refused to remove " + "; ".join(refused))
        note = "also removed " + ", ".join(retried) + ", which Graph refused earlier"
        return Outcome(outcome.status, f"{outcome.error}; {note}" if outcome.error else note)

    return Step("remove MFA method", label, METHOD_KINDS[method["@odata.type"]][1], run=run)


# -- automatic replies ----------------------------------------------------------------------------

def _when(value, name: str, problems: list) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            problems.append(Problem("auto_reply", f"{name} '{value}' is not a date and time; use "
                                                  "ISO 8601, e.g. 2025-06-30T17:00 (UTC unless an "
                                                  "offset is given)"))
            return None
    if not isinstance(value, datetime):
        problems.append(Problem("auto_reply", f"{name} must be a datetime or ISO 8601 text"))
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _fill(text: str, user: dict, manager: dict | None) -> str:
    out = text.replace("{display_name}", user.get("displayName") or user.get("userPrincipalName", ""))
    if manager is not None:
        out = out.replace("{manager}", manager.get("displayName") or manager.get("userPrincipalName", ""))
    return out


def normalize_auto_reply(spec) -> dict | None:
    """`auto_reply` as plan_offboarding takes it (message text, or a dict) -> a dict, or None."""
    if spec in (None, False, ""):
        return None
    if spec is True:
        return {}
    if isinstance(spec, str):
        return {"message": spec}
    if isinstance(spec, dict):
        return dict(spec)
    raise ValueError("auto_reply must be the message text or a dict with message, "
                     "external_message, audience, start, end")


def plan_auto_reply(client, user: dict, spec: dict, manager: dict | None, *, now: datetime | None = None):
    """Validate the automatic reply and check the mailbox exists; nothing is written here."""
    problems: list[Problem] = []
    unknown = sorted(set(spec) - {"message", "external_message", "audience", "start", "end"})
    if unknown:
        problems.append(Problem("auto_reply", f"unknown setting(s) {', '.join(unknown)}; use message, "
                                              "external_message, audience, start, end"))
    internal = str(spec.get("message") or "").strip()
    if not internal:
        problems.append(Problem("auto_reply", "give the automatic reply's message (the text people "
                                              "inside the organization get)"))
    external = str(spec.get("external_message") or "").strip() or internal
    if "{manager}" in internal + external and manager is None:
        problems.append(Problem("auto_reply", "the message names {manager} but the user has no "
                                              "manager in Entra ID; set one or reword the message"))
    internal, external = _fill(internal, user, manager), _fill(external, user, manager)
    for name, text in (("message", internal), ("external_message", external)):
        if len(text) > AUTO_REPLY_LIMIT:
            problems.append(Problem("auto_reply", f"{name} is {len(text):,} characters; the limit is "
                                                  f"{AUTO_REPLY_LIMIT:,}: shorten it"))
    audience_text = str(spec.get("audience") or "all")
    audience = AUDIENCES.get(audience_text.replace(" ", "").lower())
    if audience is None:
        problems.append(Problem("auto_reply", f"audience '{audience_text}' is not all, contactsOnly or "
                                              "none (who outside the organization gets the reply)"))
    start, end = _when(spec.get("start"), "start", problems), _when(spec.get("end"), "end", problems)
    now = now or datetime.now(timezone.utc)
    if start is not None and end is None:
        problems.append(Problem("auto_reply", "a start needs an end: give both, or neither for "
                                              "replies from now on"))
    if end is not None:
        start = start or now
        if end <= now:
            problems.append(Problem("auto_reply", f"end {end:%Y-%m-%d %H:%M} UTC is in the past"))
        elif end <= start:
            problems.append(Problem("auto_reply", f"end {end:%Y-%m-%d %H:%M} UTC is not after start "
                                                  f"{start:%Y-%m-%d %H:%M} UTC"))
    try:
        client.get(f"users/{user['id']}/mailboxSettings", params={"$select": "automaticRepliesSetting"})
    except GraphError as exc:
        if exc.code == "MailboxNotEnabledForRESTAPI" or isinstance(exc, NotFound):
            problems.append(Problem("auto_reply", "the user has no Exchange Online mailbox (no license "
                                                  "with Exchange, or a mailbox hosted on-premises), so "
                                                  "automatic replies cannot be set; leave this option off"))
        else:
            problems.append(_listing_problem("auto_reply", "the user's mailbox settings", exc))
    if problems:
        return [], problems, [], 1
    setting = {"status": "scheduled" if end is not None else "alwaysEnabled",
               "externalAudience": audience, "internalReplyMessage": internal,
               "externalReplyMessage": external}
    if end is not None:
        setting["scheduledStartDateTime"] = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
        setting["scheduledEndDateTime"] = {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    when = (f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" if end is not None else "from now on")
    detail = f"{when}; outside audience: {audience}; {len(internal)} characters"
    return [_auto_reply_step(setting, detail)], [], [], 1


def _same_reply(current: dict, setting: dict) -> bool:
    for key, value in setting.items():
        have = current.get(key)
        if isinstance(value, dict):
            if not isinstance(have, dict) or str(have.get("dateTime", ""))[:19] != value["dateTime"]:
                return False
        elif (have or "") != value:
            return False
    return True


def _auto_reply_step(setting: dict, detail: str) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        current = ctx.client.get(f"users/{ctx.user_id}/mailboxSettings",
                                 params={"$select": "automaticRepliesSetting"})
        if _same_reply(current.get("automaticRepliesSetting") or {}, setting):
            return skipped("automatic replies are already set this way")
        ctx.client.request("PATCH", f"users/{ctx.user_id}/mailboxSettings",
                           json={"automaticRepliesSetting": setting})
        return done()

    return Step("set automatic replies", "mailbox", detail, run=run)


# -- retire Intune devices ------------------------------------------------------------------------

def plan_retire_devices(client, user_id: str):
    try:
        devices = list(client.pages(f"users/{user_id}/managedDevices", params={
            "$select": "id,deviceName,operatingSystem,model,managementState"}))
    except GraphError as exc:
        if is_no_intune(exc):     # nothing to retire: the tenant has no Intune (not a failure)
            return [], [], [Problem("retire_devices", "no devices to retire: the tenant has no "
                                                      "Intune")], 0
        return [], [_listing_problem("retire_devices", "the user's Intune devices", exc)], [], 0
    steps, warnings = [], []
    for device in devices:
        name = device.get("deviceName") or device["id"]
        if str(device.get("managementState") or "").lower() in RETIRING:
            warnings.append(Problem("retire_devices", f"{name} is already being retired"))
            continue
        steps.append(_retire_step(device))
    return steps, [], warnings, len(steps)


def _retire_step(device: dict) -> Step:
    did = device["id"]

    def run(ctx: ApplyContext) -> Outcome:
        try:
            current = ctx.client.get(f"deviceManagement/managedDevices/{did}",
                                     params={"$select": "id,managementState"})
        except NotFound:
            return skipped("no longer managed by Intune")
        if str(current.get("managementState") or "").lower() in RETIRING:
            return skipped("already being retired")
        ctx.client.request("POST", f"deviceManagement/managedDevices/{did}/retire")
        return done()

    what = " ".join(p for p in (device.get("operatingSystem"), device.get("model")) if p)
    return Step("retire device", device.get("deviceName") or did,
                f"{what}; removes company data and management (no wipe)".lstrip("; "), run=run)


# -- hand groups over to the manager --------------------------------------------------------------

def user_manager(client, user_id: str) -> dict | None:
    try:
        return client.get(f"users/{user_id}/manager",
                          params={"$select": "id,displayName,userPrincipalName,accountEnabled"})
    except NotFound:
        return None


def plan_hand_over(client, user_id: str, manager: dict | None):
    try:
        owned = [o for o in client.pages(f"users/{user_id}/ownedObjects", params={
            "$select": "id,displayName,groupTypes,mailEnabled,securityEnabled"})
            if o.get("@odata.type", "#microsoft.graph.group") == "#microsoft.graph.group"]
    except GraphError as exc:
        return [], [_listing_problem("hand_over_to_manager", "the groups the user owns", exc)], [], 0
    if not owned:
        return [], [], [], 0
    if manager is None:
        names = ", ".join(g.get("displayName") or g["id"] for g in owned)
        return [], [Problem("hand_over_to_manager", f"the user owns {names} but has no manager in "
                                                    "Entra ID; set a manager first (Edit User) or "
                                                    "leave this option off")], [], len(owned)
    warnings, steps = [], []
    if manager.get("accountEnabled") is False:
        warnings.append(Problem("hand_over_to_manager", f"the manager {manager.get('displayName')} "
                                                        "cannot sign in (account disabled)"))
    for group in owned:
        if group_kind(group) in ("distribution", "mail_security"):
            warnings.append(Problem("hand_over_to_manager", f"'{group.get('displayName')}' is managed "
                                    "in Exchange (distribution list or mail-enabled security group); "
                                    "change its owners there"))
            continue
        steps.append(_owner_step(group, manager))
    return steps, [], warnings, len(steps)


def _owner_step(group: dict, manager: dict) -> Step:
    gid, mid = group["id"], manager["id"]

    def run(ctx: ApplyContext) -> Outcome:
        owners = {o["id"].lower() for o in ctx.client.pages(f"groups/{gid}/owners", params={"$select": "id"})}
        if mid.lower() in owners:
            return skipped("the manager is already an owner")
        try:
            ctx.client.request("POST", f"groups/{gid}/owners/$ref",
                               json={"@odata.id": f"{ctx.client.base}/directoryObjects/{mid}"})
        except GraphError as exc:
            if exc.status == 400 and "already exist" in (exc.graph_message or ""):
                return skipped("the manager is already an owner")
            return _failure(exc)
        return done()

    name = manager.get("displayName") or manager.get("userPrincipalName") or mid
    return Step("add group owner", group.get("displayName") or gid, f"{name} becomes an owner",
                run=run)
