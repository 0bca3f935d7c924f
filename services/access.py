"""Access per tenant: the status words, what is missing, and the one rule for refusing a feature.

A tenant's access comes from what Entra and Graph say about the app there (services.sync and
services.access_check read it; the store keeps it on the tenant's row):
- the token endpoint refuses the app: AADSTS700016 (app not in the tenant) or AADSTS65001 (no
  consent) -> "no consent"; AADSTS90002 / 90072 (no such tenant) -> "tenant unknown";
- the partner's GDAP relationship with the tenant ended -> "relationship expired";
- the token's `roles` claim (application permissions) and the app's directory roles, compared
  with services.permissions -> "ready", or "missing permissions" with the exact list and the
  features each missing grant switches off.
Entra ID P1 is a license, not a grant: without it last sign-in is "not available (needs Entra ID
P1)" while the tenant stays "ready". Intune is one too: a tenant without it answers managed-device
calls 400 "Request not applicable to target tenant." (`is_no_intune`); its row gets `intune`
False and the device features are off "needs Intune", the tenant still "ready".

`feature_refusal(m365, tenant_id, feature)` is the rule workflows and pages use before a write;
nothing else decides whether a tenant can use a feature.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from . import permissions as P

READY = "ready"
MISSING = "missing permissions"
NO_CONSENT = "no consent"
EXPIRED = "relationship expired"
UNKNOWN = "tenant unknown"
NOT_CHECKED = "not checked"
STATUSES = (READY, MISSING, NO_CONSENT, EXPIRED, UNKNOWN)
BLOCKING = (NO_CONSENT, EXPIRED, UNKNOWN)          # nothing works in such a tenant

NO_CONSENT_CODES = {700016, 65001}
UNKNOWN_TENANT_CODES = {90002, 90072}
NO_P1_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
# Graph's answer to managed-device calls in a tenant without an Intune license (400 BadRequest;
# reported e.g. in microsoftgraph/msgraph-beta-sdk-go#198 and Microsoft Q&A: "requires an active
# Intune license"). Intune wraps it in a JSON string at times, so it is matched as a substring.
NO_INTUNE_TEXT = "Request not applicable to target tenant"
NO_INTUNE_NOTE = "No devices: this tenant has no Intune"
SEP = "; "

FIX = {
    READY: "nothing to do",
    MISSING: "add the missing permissions to the app registration (API permissions, "
             "application type), then have an admin of the tenant grant consent again at the "
             "consent URL; a missing directory role is assigned to the app in the tenant "
             "(Entra admin center > Roles and administrators)",
    NO_CONSENT: "a Global Administrator of the tenant opens the consent URL and accepts",
    EXPIRED: "renew the GDAP relationship in Partner Center (or remove the tenant)",
    UNKNOWN: "check the tenant id in [[tenants]] or the partner's customer list",
}


def consent_url(authority_host: str, tenant_id: str, client_id: str) -> str:
    """The admin-consent link an admin of the tenant opens to grant the app's permissions."""
    host = (authority_host or "https://login.microsoftonline.com").rstrip("/")
    return f"{host}/{quote(tenant_id, safe='')}/adminconsent?client_id={quote(client_id, safe='')}"


def split(text) -> list[str]:
    return [p.strip() for p in str(text).split(";") if p.strip()] if isinstance(text, str) else []


def evaluate(permissions, roles=None, *, now: str | None = None, detail: str | None = None) -> dict:
    """The tenants-table access columns for what the token granted (`permissions`) and the
    app's directory roles (`roles`; None when they could not be read)."""
    granted = set(permissions or ())
    held = None if roles is None else set(roles)
    missing: list[str] = []
    for feature in P.tenant_features():
        for req in P.unmet(feature, granted, held):
            if req.label not in missing:
                missing.append(req.label)
    return {"access": MISSING if missing else READY, "missing_permissions": SEP.join(missing),
            "granted_permissions": SEP.join(sorted(granted)),
            "app_roles": None if held is None else SEP.join(sorted(held)),
            "access_detail": detail, "access_checked": now}


_AADSTS = re.compile(r"AADSTS(\d+)")


def aadsts_codes(exc) -> set[int]:
    codes = {int(m.group(1)) for d in getattr(exc, "details", None) or []
             for m in [_AADSTS.search(str((d or {}).get("code", "")))] if m}
    return codes or {int(c) for c in _AADSTS.findall(str(exc))}


def from_token_refusal(exc, *, now: str | None = None) -> dict | None:
    """Access columns for a token endpoint refusal, or None when it says nothing about the
    tenant (a wrong secret or certificate is the app registration's problem, in every tenant)."""
    codes = aadsts_codes(exc)
    if codes & NO_CONSENT_CODES:
        status = NO_CONSENT
    elif codes & UNKNOWN_TENANT_CODES or getattr(exc, "code", None) == "authority_error":
        # authority_error: msal could not read the tenant's OpenID configuration (Entra
        # answers it with AADSTS90002 for a tenant it does not know).
        status = UNKNOWN
    else:
        return None
    said = str(getattr(exc, "graph_message", exc)).split("Entra ID said: ")[-1].split(
        "token authority rejected tenant ")[-1]
    return {"access": status, "missing_permissions": "", "access_detail": said[:1000],
            "access_checked": now}


def is_no_intune(exc) -> bool:
    """Whether a Graph error is Intune's "this tenant has no Intune" answer (not a failure)."""
    status = getattr(exc, "status", None)
    return status in (400, 403) and NO_INTUNE_TEXT.lower() in str(
        getattr(exc, "graph_message", exc)).lower()


def record_intune(m365, tenant_id: str, present: bool) -> None:
    """Remember whether the tenant has Intune (its row's `intune`), when there is a store."""
    store = getattr(m365, "store", None)
    if store is not None and tenant_id:
        store.record_access(tenant_id, {"intune": bool(present)})


def expired(*, now: str | None = None, detail: str | None = None) -> dict:
    return {"access": EXPIRED, "missing_permissions": "", "access_checked": now,
            "access_detail": detail or "no active GDAP relationship with this tenant"}


# ---- what a stored tenant row means ------------------------------------------------------------

def _row_sets(row: dict) -> tuple[set[str], set[str] | None]:
    roles = row.get("app_roles")
    return set(split(row.get("granted_permissions"))), (None if roles is None or roles != roles
                                                         else set(split(roles)))


def features_off(row: dict) -> dict[str, str]:
    """feature key -> why it is off in this tenant (empty when everything works or unknown)."""
    status = row.get("access")
    if status in BLOCKING:
        return {f.key: status for f in P.tenant_features()}
    out: dict[str, str] = {}
    if status in (READY, MISSING):
        granted, roles = _row_sets(row)
        for feature in P.tenant_features():
            lacking = P.unmet(feature, granted, roles)
            if lacking:
                out[feature.key] = "needs " + ", ".join(r.label for r in lacking)
    if row.get("entra_p1") is False:
        for feature in P.tenant_features():
            if feature.needs_p1 and feature.key not in out:
                out[feature.key] = "needs Entra ID P1"
    if row.get("intune") is False:
        for feature in P.tenant_features():
            if feature.needs_intune and feature.key not in out:
                out[feature.key] = "needs Intune"
    return out


def features_off_text(row: dict) -> str:
    """The switched-off features in words, "; "-joined, for listings and reports."""
    off = features_off(row)
    if row.get("access") in BLOCKING:
        return "everything" if off else ""
    return SEP.join(f"{P.FEATURES[k].label} ({why})" for k, why in off.items())


def last_sign_in_note(row: dict) -> str | None:
    """Why last sign-in is not shown for this tenant's users, or None when it is."""
    why = features_off(row).get("last_sign_in")
    return None if why is None else f"not available ({why})"


# Exchange Online's grants live in two places other than Graph's permission list (README).
EXCHANGE_FIX = ("grant Exchange.ManageAsApp (app registration > API permissions > APIs my "
                "organization uses > Office 365 Exchange Online > Application permissions, then "
                "grant consent) and assign the app the Exchange Administrator role in the tenant "
                "(Entra admin center > Roles and administrators)")


def refusal(row: dict | None, feature: str, *, url: str | None = None) -> str | None:
    """Why this tenant (a tenants-table row) cannot use `feature`, or None when it can or its
    access was never checked (then Graph's own answer decides)."""
    if feature not in P.FEATURES:
        raise KeyError(f"unknown feature {feature!r}; use one of: {', '.join(P.FEATURES)}")
    if not row or not row.get("access"):
        return None
    name = row.get("display_name") or row.get("tenant_id")
    label = P.FEATURES[feature].label
    status = row["access"]
    where = f" ({url})" if url else ""
    if status in BLOCKING:
        return (f"{label} is not possible in {name}: {status}; {FIX[status]}"
                f"{where if status == NO_CONSENT else ''}")
    why = features_off(row).get(feature)
    if why is None:
        return None
    if why == "needs Entra ID P1":
        return (f"{label} is not available in {name}: the tenant has no Entra ID P1 (Graph "
                "refuses sign-in activity without it); a P1 license or a suite with it "
                "(Microsoft 365 Business Premium, E3, E5) switches it on")
    if why == "needs Intune":
        return (f"{label} is not available in {name}: the tenant has no Intune (Graph answers "
                "\"Request not applicable to target tenant.\"); an Intune license or a suite "
                "with it (Microsoft 365 Business Premium, E3, E5) switches it on")
    if feature == "exchange":
        return (f"{label} is switched off in {name}: the app {why} there; {EXCHANGE_FIX}"
                f"{where}")
    return f"{label} is switched off in {name}: the app {why} there; {FIX[MISSING]}{where}"


def feature_refusal(m365, tenant_id: str, feature: str) -> str | None:
    """The one rule: why `feature` is refused in this tenant before any write, or None.

    Reads the tenant's stored access (written by sync and `m365dash access`); a tenant never
    checked is not refused here.
    """
    read = getattr(getattr(m365, "store", None), "tenant", None)
    if read is None or not tenant_id:
        return None                   # a host without a store (a test double): Graph decides
    row = read(tenant_id)
    settings = getattr(getattr(m365, "config", None), "graph", None)
    url = (consent_url(settings.authority_host, tenant_id, settings.client_id)
           if settings is not None and getattr(settings, "client_id", None) else None)
    return refusal(row, feature, url=url)
