"""Users' authentication methods and the tenant's Temporary Access Pass policy.

A demo user's methods are drawn from the user id (the same user always has the same mix) the
first time they are read, then kept on the tenant so deletions and new passes persist. Users who
never signed in (and users created through `POST /users`) have only their password.

Graph's rules reproduced here:
- the password method is listed but cannot be deleted;
- the user's default MFA method cannot be deleted while other methods remain (observed text
  "Cannot delete default method with other methods configured. Please change default method
  before deletion."; the default-method setting itself is beta-only, so a v1.0 client has to
  delete the default last);
- a `mobile` phone cannot go while an `alternateMobile` exists (v1.0 "Delete
  phoneAuthenticationMethod");
- one Temporary Access Pass per user: a new one replaces the old; the pass text is answered once
  by the create call and never again (it is not even kept here).
"""
from __future__ import annotations

import random
import secrets
import string
import uuid
from datetime import datetime, timedelta, timezone

from .errors import GraphFault, not_found
from .model import Tenant, User, iso

PASSWORD_ID = "28c10230-6103-485e-b985-444c60001490"     # fixed id of every password method
PHONE_IDS = {"mobile": "3179e48a-750b-4051-897c-87b9720928f7",
             "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
             "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc"}
EMAIL_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"          # fixed id of the email method

# collection name under /authentication -> @odata.type of its members
KINDS = {
    "passwordMethods": "#microsoft.graph.passwordAuthenticationMethod",
    "phoneMethods": "#microsoft.graph.phoneAuthenticationMethod",
    "microsoftAuthenticatorMethods": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    "fido2Methods": "#microsoft.graph.fido2AuthenticationMethod",
    "softwareOathMethods": "#microsoft.graph.softwareOathAuthenticationMethod",
    "emailMethods": "#microsoft.graph.emailAuthenticationMethod",
    "windowsHelloForBusinessMethods": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
    "temporaryAccessPassMethods": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
}
KIND_OF_TYPE = {t: k for k, t in KINDS.items()}
CANONICAL = {k.lower(): k for k in KINDS}

MSG_DEFAULT = ("Cannot delete default method with other methods configured. Please change default "
               "method before deletion.")
MSG_ALTERNATE = ("A user can't have an alternateMobile number without a mobile number: delete the "
                 "alternateMobile phone method first.")
MSG_TAP_POLICY = ("Converged UserCredentialPolicy does not allow creating or updating this "
                  "authentication method. AuthMethodType [TemporaryAccessPass].")
# Which method Entra would pick as the default, best first (system-preferred order).
DEFAULT_ORDER = ("microsoftAuthenticatorMethods", "fido2Methods", "windowsHelloForBusinessMethods",
                 "softwareOathMethods", "phoneMethods")
PHONES = ("iPhone 15", "iPhone 13", "Galaxy S23", "Pixel 8", "iPhone SE")
KEYS = (("YubiKey 5 NFC", "2fc0579f-8113-47ea-b116-555a8db9202a"),
        ("YubiKey 5C", "ee882879-721c-4913-9775-3dfcce97072a"),
        ("Feitian ePass FIDO2", "833b721a-ff5f-4d00-bb2e-bdda3ec01e29"))


def bad(message: str) -> GraphFault:
    # The authentication-methods service answers lower-case "badRequest", unlike the directory.
    return GraphFault(400, "badRequest", message)


# -- the tenant's Temporary Access Pass policy ---------------------------------------------------
def tap_policy(tenant: Tenant) -> dict:
    policy = getattr(tenant, "tap_policy", None)
    if policy is None:
        index = tenant.info.index if tenant.info else 0
        # Customer 2 has TAP switched off (Graph's default for a tenant that never enabled it);
        # customer 3 insists on one-time passes and allows a working day's lifetime.
        policy = {"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                  "id": "TemporaryAccessPass", "state": "disabled" if index == 2 else "enabled",
                  "defaultLifetimeInMinutes": 60, "defaultLength": 8,
                  "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480,
                  "isUsableOnce": index == 3, "excludeTargets": [],
                  "includeTargets": [{"targetType": "group", "id": "all_users",
                                      "isRegistrationRequired": False}]}
        if index == 3:
            policy.update(minimumLifetimeInMinutes=10, maximumLifetimeInMinutes=1440,
                          defaultLifetimeInMinutes=120)
        tenant.tap_policy = policy
    return policy


POLICY_WRITABLE = {"state", "defaultLifetimeInMinutes", "defaultLength", "minimumLifetimeInMinutes",
                   "maximumLifetimeInMinutes", "isUsableOnce", "includeTargets", "excludeTargets"}


def update_tap_policy(tenant: Tenant, body: dict) -> None:
    policy = dict(tap_policy(tenant))
    for key, value in body.items():
        if key == "@odata.type":
            continue
        if key not in POLICY_WRITABLE:
            raise bad(f"Invalid property '{key}' for temporaryAccessPassAuthenticationMethodConfiguration.")
        policy[key] = value
    if policy["state"] not in ("enabled", "disabled"):
        raise bad("Invalid value for 'state': expected 'enabled' or 'disabled'.")
    low, high = policy["minimumLifetimeInMinutes"], policy["maximumLifetimeInMinutes"]
    if not (isinstance(low, int) and isinstance(high, int) and 10 <= low <= high <= 43200):
        raise bad("minimumLifetimeInMinutes and maximumLifetimeInMinutes must be between 10 and "
                  "43200 and the minimum no more than the maximum.")
    if not low <= policy["defaultLifetimeInMinutes"] <= high:
        raise bad("defaultLifetimeInMinutes must be between minimumLifetimeInMinutes and "
                  "maximumLifetimeInMinutes.")
    tenant.tap_policy = policy
    tenant.dirty = True


# -- a user's methods ----------------------------------------------------------------------------
class Methods:
    """One user's methods: dicts in Graph's shape (with `@odata.type`) and which one is default."""

    __slots__ = ("items", "default")

    def __init__(self, items: list[dict], default: str | None):
        self.items, self.default = items, default


def methods(tenant: Tenant, user: User) -> Methods:
    table = getattr(tenant, "auth_methods", None)
    if table is None:
        table = tenant.auth_methods = {}
    found = table.get(user.id)
    if found is None:
        found = table[user.id] = _seed(tenant, user)
    return found


def _seed(tenant: Tenant, user: User) -> Methods:
    created = user.p.get("createdDateTime") or iso(datetime.now(timezone.utc))
    items = [{"@odata.type": KINDS["passwordMethods"], "id": PASSWORD_ID, "password": None,
              "createdDateTime": created}]
    if not user.p.get("signInActivity"):
        return Methods(items, None)          # never signed in: never registered anything
    rng = random.Random(f"{user.id}/authmethods")
    base = datetime.fromisoformat(created.replace("Z", "+00:00"))

    def when() -> str:
        return iso(base + timedelta(days=rng.uniform(0, 20), minutes=rng.randint(0, 1440)))

    phone = user.p.get("mobilePhone") or f"+1 555555{rng.randint(1000, 9999)}"
    if rng.random() < 0.75:
        items.append({"@odata.type": KINDS["microsoftAuthenticatorMethods"], "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                      "displayName": rng.choice(PHONES), "deviceTag": "SoftwareTokenActivated",
                      "phoneAppVersion": f"6.{rng.randint(2310, 2412)}.{rng.randint(1000, 9999)}",
                      "createdDateTime": when()})
    if rng.random() < 0.6:
        items.append(_phone("mobile", phone))
        if rng.random() < 0.15:
            items.append(_phone("alternateMobile", f"+1 555555{rng.randint(1000, 9999)}"))
    if rng.random() < 0.1 and user.p.get("businessPhones"):
        items.append(_phone("office", user.p["businessPhones"][0]))
    if rng.random() < 0.12:
        model, aaguid = rng.choice(KEYS)
        items.append({"@odata.type": KINDS["fido2Methods"], "id": _token(rng), "displayName": f"{model} key",
                      "createdDateTime": when(), "aaGuid": aaguid, "model": model,
                      "attestationCertificates": [f"{rng.getrandbits(160):040x}"],
                      "attestationLevel": "attested"})
    if rng.random() < 0.2:
        items.append({"@odata.type": KINDS["windowsHelloForBusinessMethods"],
                      "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                      "displayName": f"{user.p.get('givenName', 'User')}'s laptop",
                      "createdDateTime": when(), "keyStrength": "normal"})
    if rng.random() < 0.08:
        items.append({"@odata.type": KINDS["softwareOathMethods"],
                      "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "secretKey": None})
    if rng.random() < 0.2:
        items.append({"@odata.type": KINDS["emailMethods"], "id": EMAIL_ID,
                      "emailAddress": f"{user.p.get('mailNickname', 'user')}@example.net"})
    kinds = {KIND_OF_TYPE[m["@odata.type"]]: m["id"] for m in reversed(items)}
    default = next((kinds[k] for k in DEFAULT_ORDER if k in kinds), None)
    return Methods(items, default)


def _phone(kind: str, number: str) -> dict:
    return {"@odata.type": KINDS["phoneMethods"], "id": PHONE_IDS[kind], "phoneNumber": number,
            "phoneType": kind, "smsSignInState": "notAllowedByPolicy"}


def _token(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(rng.choice(alphabet) for _ in range(22))


def listed(found: Methods, kind: str | None = None) -> list[dict]:
    """The user's methods as Graph lists them (a TAP never shows its pass after creation)."""
    out = []
    for item in found.items:
        if kind is None or KIND_OF_TYPE[item["@odata.type"]] == kind:
            out.append(_usable(item) if item["@odata.type"] == KINDS["temporaryAccessPassMethods"] else item)
    return out


def _usable(tap: dict) -> dict:
    start = datetime.fromisoformat(tap["startDateTime"].replace("Z", "+00:00"))
    end = start + timedelta(minutes=tap["lifetimeInMinutes"])
    now = datetime.now(timezone.utc)
    reason = "NotYetValid" if now < start else "Expired" if now >= end else "EnabledByPolicy"
    return {**tap, "temporaryAccessPass": None, "isUsable": reason == "EnabledByPolicy",
            "methodUsabilityReason": reason}


def find(found: Methods, kind: str, method_id: str) -> dict:
    for item in found.items:
        if KIND_OF_TYPE[item["@odata.type"]] == kind and item["id"].lower() == method_id.lower():
            return item
    raise not_found(method_id)


def delete(tenant: Tenant, user: User, kind: str, method_id: str) -> None:
    found = methods(tenant, user)
    item = find(found, kind, method_id)
    others = [m for m in found.items if m is not item and m["id"] != PASSWORD_ID]
    if item["id"] == found.default and others:
        raise bad(MSG_DEFAULT)
    if item.get("phoneType") == "mobile" and any(m.get("phoneType") == "alternateMobile" for m in others):
        raise bad(MSG_ALTERNATE)
    found.items.remove(item)
    if item["id"] == found.default:
        found.default = None
    tenant.dirty = True


def create_tap(tenant: Tenant, user: User, body: dict) -> dict:
    """A new pass within the tenant's policy; the answer is the only place its text appears."""
    policy = tap_policy(tenant)
    if policy["state"] != "enabled":
        raise bad(MSG_TAP_POLICY)
    unknown = set(body) - {"startDateTime", "lifetimeInMinutes", "isUsableOnce", "@odata.type"}
    if unknown:
        raise bad(f"Invalid property '{sorted(unknown)[0]}' for temporaryAccessPassAuthenticationMethod.")
    lifetime = body.get("lifetimeInMinutes", policy["defaultLifetimeInMinutes"])
    if not isinstance(lifetime, int) or isinstance(lifetime, bool):
        raise bad("lifetimeInMinutes must be an integer number of minutes.")
    low, high = policy["minimumLifetimeInMinutes"], policy["maximumLifetimeInMinutes"]
    if not low <= lifetime <= high:
        raise bad(f"The lifetime of {lifetime} minutes is outside the Temporary Access Pass policy "
                  f"of this tenant: between {low} and {high} minutes.")
    once = body.get("isUsableOnce", policy["isUsableOnce"])
    if not isinstance(once, bool):
        raise bad("isUsableOnce must be true or false.")
    if policy["isUsableOnce"] and not once:
        raise bad("The Temporary Access Pass policy of this tenant only allows one-time passes "
                  "(isUsableOnce true).")
    now = datetime.now(timezone.utc)
    start = now
    if body.get("startDateTime"):
        try:
            start = datetime.fromisoformat(str(body["startDateTime"]).replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"Invalid startDateTime '{body['startDateTime']}'.") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
    found = methods(tenant, user)
    found.items = [m for m in found.items if m["@odata.type"] != KINDS["temporaryAccessPassMethods"]]
    tap = {"@odata.type": KINDS["temporaryAccessPassMethods"], "id": str(uuid.uuid4()),
           "temporaryAccessPass": None, "createdDateTime": iso(now), "startDateTime": iso(start),
           "lifetimeInMinutes": lifetime, "isUsableOnce": once}
    found.items.append(tap)
    tenant.dirty = True
    alphabet = string.ascii_letters + string.digits + "+-*=#!"
    secret = "".join(secrets.choice(alphabet) for _ in range(policy["defaultLength"]))
    return {**_usable(tap), "temporaryAccessPass": secret}
