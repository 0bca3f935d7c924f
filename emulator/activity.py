"""Per-user activity derived on demand from the user id: Intune devices and sign-in logs.

Nothing here is stored: the same user always shows the same devices and sign-ins, and the
newest sign-in matches the user's `signInActivity.lastSignInDateTime`.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from .demo import guid
from .model import Tenant, User, iso
from .names import DEVICE_MODELS, SIGN_IN_APPS

FAILURE = (50126, "Error validating credentials due to invalid username or password.")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


def _device_rows(user: User) -> list[tuple]:
    if not user.p.get("assignedLicenses"):
        return []
    rng = random.Random(f"{user.id}/devices")
    rows = []
    for n in range(rng.choice((0, 1, 1, 1, 2))):
        maker, model, os_name, version = rng.choice(DEVICE_MODELS)
        initials = (user.p.get("givenName", "X")[:1] + user.p.get("surname", "X")[:1]).upper()
        name = f"{initials}-{'LT' if os_name in ('Windows', 'macOS') else 'MB'}-{rng.randint(1000, 9999)}"
        rows.append((rng, maker, model, os_name, version, name, guid(rng), guid(rng)))
    return rows


def managed_devices(user: User, retired: dict | None = None) -> list[dict]:
    """The user's Intune devices; one retired through Graph shows managementState retirePending
    (Intune keeps the record until the device checks in and drops its company data)."""
    retired = retired or {}
    out = []
    for rng, maker, model, os_name, version, name, dev_id, aad_id in _device_rows(user):
        enrolled = datetime.utcnow() - timedelta(days=rng.randint(30, 700))
        out.append({
            "id": dev_id, "userId": user.id, "deviceName": name, "managedDeviceOwnerType": "company",
            "managementState": "retirePending" if dev_id in retired else "managed",
            "enrolledDateTime": iso(enrolled),
            "lastSyncDateTime": iso(datetime.utcnow() - timedelta(hours=rng.randint(1, 240))),
            "operatingSystem": os_name, "osVersion": version,
            "complianceState": "compliant" if rng.random() < 0.85 else "noncompliant",
            "jailBroken": "False", "managementAgent": "mdm", "azureADRegistered": True,
            "deviceEnrollmentType": "windowsAzureADJoin" if os_name == "Windows" else "userEnrollment",
            "emailAddress": user.p.get("mail") or user.p["userPrincipalName"],
            "azureADDeviceId": aad_id, "deviceRegistrationState": "registered",
            "isEncrypted": True, "userPrincipalName": user.p["userPrincipalName"],
            "userDisplayName": user.p.get("displayName"), "model": model, "manufacturer": maker,
            "serialNumber": f"{rng.getrandbits(40):010X}",
            "totalStorageSpaceInBytes": 256 * 1024 ** 3,
            "freeStorageSpaceInBytes": rng.randint(20, 200) * 1024 ** 3,
        })
    return out


def owned_devices(user: User) -> list[dict]:
    out = []
    for rng, maker, model, os_name, version, name, dev_id, aad_id in _device_rows(user):
        out.append({
            "@odata.type": "#microsoft.graph.device", "id": guid(rng), "deviceId": aad_id,
            "displayName": name, "operatingSystem": os_name, "operatingSystemVersion": version,
            "accountEnabled": True, "isCompliant": True, "isManaged": True,
            "trustType": "AzureAd" if os_name == "Windows" else "Workplace",
            "approximateLastSignInDateTime": iso(datetime.utcnow() - timedelta(hours=rng.randint(1, 240))),
            "registrationDateTime": iso(datetime.utcnow() - timedelta(days=rng.randint(30, 700))),
        })
    return out


def sign_ins(tenant: Tenant, user: User) -> list[dict]:
    """The user's recent sign-ins, newest first; none for a user who never signed in."""
    last = (user.p.get("signInActivity") or {}).get("lastSignInDateTime")
    if not last:
        return []
    rng = random.Random(f"{user.id}/signins")
    when = _parse(last)
    city, state, _, code = tenant.info.place[:4]
    out = []
    for n in range(rng.randint(3, 8)):
        app_id, app_name = rng.choice(SIGN_IN_APPS)
        failed = n > 0 and rng.random() < 0.08
        out.append({
            "id": guid(rng), "createdDateTime": iso(when), "userDisplayName": user.p.get("displayName"),
            "userPrincipalName": user.p["userPrincipalName"], "userId": user.id, "appId": app_id,
            "appDisplayName": app_name, "ipAddress": f"203.0.113.{rng.randint(1, 254)}",
            "clientAppUsed": rng.choice(("Browser", "Mobile Apps and Desktop clients")),
            "correlationId": guid(rng), "conditionalAccessStatus": "success" if not failed else "notApplied",
            "isInteractive": True, "riskDetail": "none", "riskLevelAggregated": "none",
            "riskLevelDuringSignIn": "none", "riskState": "none", "riskEventTypes_v2": [],
            "resourceDisplayName": app_name, "resourceId": app_id,
            "status": {"errorCode": FAILURE[0] if failed else 0,
                       "failureReason": FAILURE[1] if failed else "Other.", "additionalDetails": None},
            "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows10",
                             "browser": "Edge 124.0.0", "isCompliant": False, "isManaged": False,
                             "trustType": ""},
            "location": {"city": city, "state": state or None, "countryOrRegion": code,
                         "geoCoordinates": None},
            "appliedConditionalAccessPolicies": [],
        })
        when -= timedelta(hours=rng.uniform(2, 72))
    return out
