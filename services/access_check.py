"""Finding out what the app may do in each tenant, live, and the access report.

`check_tenant` asks Entra for a fresh token (so a consent granted a minute ago counts), reads its
`roles` claim, finds the app's service principal (`GET /servicePrincipals(appId='...')`, which
needs no permission for the app's own) and its directory roles (`roleAssignments?$filter=
principalId eq '...'`), and probes whether signInActivity answers (Entra ID P1) and whether
managed devices answer (Intune; "Request not applicable to target tenant." means none). Sync reads the
same facts from the token it already holds and one extra item of its first `$batch`
(`sync_access`); Exchange Online's permission comes from the tenant's Exchange token
(services/exchange.py). Both store the result on the tenant's row; `access_report` turns the rows into
the report of `m365dash access` and the All Tenants page.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pandas as pd

from . import access as A
from .errors import AuthFailure, GraphError
from .exchange import exchange_roles
from .permissions import ROLE_TEMPLATES
from .store.rows import utc_now

log = logging.getLogger(__name__)

REPORT_COLUMNS = ["tenant", "tenant_id", "access", "missing_permissions", "features_off",
                  "consent_url", "fix", "last_sign_in", "granted_permissions", "app_roles",
                  "access_checked", "access_detail"]
WORKERS = 8
GDAP = "tenantRelationships/delegatedAdminRelationships"


# ---- during sync ---------------------------------------------------------------------------------

def sync_access(claims: dict, snapshot, exchange: list[str] = ()) -> dict:
    """Access columns from the sync's token claims (Graph's, and the Exchange permissions of
    its Exchange token) and the app roles its first round read."""
    return A.evaluate([*(claims.get("roles") or []), *exchange], snapshot.app_roles,
                      now=utc_now())


def failure_access(exc: BaseException, claims: dict | None) -> dict | None:
    """Access columns after a failed sync: the token refusal's meaning, else what the token
    granted (roles unknown), else nothing to say."""
    if claims is None:
        return A.from_token_refusal(exc, now=utc_now()) if isinstance(exc, AuthFailure) else None
    return A.evaluate(claims.get("roles") or [], None, now=utc_now())


# ---- live check ----------------------------------------------------------------------------------

def check_tenant(m365, tenant_id: str) -> dict:
    """Check one tenant now and store what was found; returns the access columns."""
    tokens = m365.graph.tokens
    now = utc_now()
    try:
        tokens.invalidate(tenant_id)          # grants come with a new token only
    except (ValueError, GraphError) as exc:   # an unknown tenant fails its token call below
        log.debug("could not drop the cached token of %s: %s", tenant_id, exc)
    try:
        claims = tokens.claims(tenant_id)
    except AuthFailure as exc:
        values = A.from_token_refusal(exc, now=now) or {
            "access": None, "access_detail": str(exc)[:1000], "access_checked": now}
        m365.store.record_access(tenant_id, values)
        return values
    client = m365.graph.tenant(tenant_id)
    roles, p1, detail, intune = _probe(client, m365.config.graph.client_id, claims.get("oid"))
    granted = [*(claims.get("roles") or []), *exchange_roles(tokens, tenant_id)]
    values = A.evaluate(granted, roles, now=now, detail=detail)
    if p1 is not None:
        values["entra_p1"] = p1
    if intune is not None:
        values["intune"] = intune
    m365.store.record_access(tenant_id, values)
    return values


def _probe(client, client_id: str, oid: str | None):
    """(app role names or None, Entra ID P1 or None, detail, Intune or None) in one `$batch`
    (two without oid)."""
    sp_url = f"/servicePrincipals(appId='{quote(client_id, safe='')}')?$select=id,appId,displayName"
    probe = "/users?$select=id,signInActivity&$top=1"
    devices = "/deviceManagement/managedDevices?$select=id&$top=1"
    requests = [{"method": "GET", "url": sp_url}, {"method": "GET", "url": probe},
                {"method": "GET", "url": devices}]
    if oid:
        requests.append({"method": "GET", "url": _roles_url(oid)})
    try:
        answers = client.batch(requests)
    except GraphError as exc:
        return None, None, f"could not read the app's roles: {exc}"[:1000], None
    sp, sign_in = answers[0], answers[1]
    p1 = True if sign_in.ok else False if _code(sign_in) == A.NO_P1_CODE else None
    intune = True if answers[2].ok else False if _no_intune(answers[2]) else None
    if not sp.ok:
        return None, p1, f"service principal not read ({sp.status} {_code(sp)})", intune
    principal = (sp.body or {}).get("id")
    assignments = answers[3] if oid and oid == principal else None
    if assignments is None:
        try:
            assignments = client.batch([{"method": "GET", "url": _roles_url(principal)}])[0]
        except GraphError as exc:
            return None, p1, f"could not read the app's roles: {exc}"[:1000], intune
    if not assignments.ok:
        return (None, p1, f"directory roles not read ({assignments.status} {_code(assignments)})",
                intune)
    names = sorted({ROLE_TEMPLATES.get(a.get("roleDefinitionId"), a.get("roleDefinitionId"))
                    for a in (assignments.body or {}).get("value", []) if a.get("roleDefinitionId")})
    return names, p1, None, intune


def _no_intune(answer) -> bool:
    body = answer.body if isinstance(answer.body, dict) else {}
    message = str((body.get("error") or {}).get("message") or "")
    return answer.status in (400, 403) and A.NO_INTUNE_TEXT.lower() in message.lower()


def _roles_url(principal: str) -> str:
    return ("/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20"
            f"'{principal}'&$select=id,roleDefinitionId,principalId,directoryScopeId")


def _code(answer) -> str | None:
    body = answer.body if isinstance(answer.body, dict) else {}
    return (body.get("error") or {}).get("code")


def expired_relationships(m365) -> dict[str, str]:
    """Partner mode: customer tenant id -> name for every customer whose GDAP relationships
    all ended (expired, terminated); {} without a partner tenant or when it cannot be read."""
    config = m365.config
    partner = config.graph.partner_tenant_id
    if config.tenants or not partner:
        return {}
    active, ended = set(), {}
    try:
        for rel in m365.graph.tenant(partner).pages(GDAP):
            customer = rel.get("customer") or {}
            tid = (customer.get("tenantId") or "").lower()
            if not tid:
                continue
            if rel.get("status") == "active":
                active.add(tid)
            else:
                ended[tid] = customer.get("displayName") or tid
    except GraphError as exc:
        log.warning("GDAP relationships not read: %s", exc)
        return {}
    return {tid: name for tid, name in ended.items() if tid not in active}


def check_access(m365, tenant_ids: list[str] | None = None) -> pd.DataFrame:
    """Check the given (default: every active) tenant now, store the results, return the report.
    Customers whose GDAP relationship ended are reported as "relationship expired"."""
    rows = {r["tenant_id"]: r for r in m365.store.tenant_rows(active_only=False)}
    ids = tenant_ids if tenant_ids is not None else [t for t, r in rows.items() if r["active"]]
    with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(ids) or 1)),
                            thread_name_prefix="access") as pool:
        list(pool.map(lambda tid: check_tenant(m365, tid), ids))
    extra = []
    if tenant_ids is None:
        for tid, name in expired_relationships(m365).items():
            values = A.expired(now=utc_now())
            if not m365.store.record_access(tid, values):
                extra.append({"tenant_id": tid, "display_name": name, **values})
    return access_report(m365, tenant_ids, extra=extra)


# ---- the report ----------------------------------------------------------------------------------

def access_report(m365, tenant_ids: list[str] | None = None, *, extra=()) -> pd.DataFrame:
    """One row per tenant from the store: status, what is missing, what it switches off, the
    consent URL and the fix. Inactive tenants appear only as "relationship expired"."""
    settings = m365.config.graph
    out = []
    for row in [*m365.store.tenant_rows(active_only=False), *extra]:
        tid = row["tenant_id"]
        if tenant_ids is not None and tid not in tenant_ids:
            continue
        if not row.get("active", True) and row.get("access") != A.EXPIRED:
            continue
        status = row.get("access") or A.NOT_CHECKED
        out.append({
            "tenant": row.get("display_name") or tid, "tenant_id": tid, "access": status,
            "missing_permissions": row.get("missing_permissions") or "",
            "features_off": A.features_off_text(row),
            "consent_url": A.consent_url(settings.authority_host, tid, settings.client_id),
            "fix": A.FIX.get(status, "run `m365dash access` to check"),
            "last_sign_in": A.last_sign_in_note(row) or ("available" if row.get("access") else ""),
            "granted_permissions": row.get("granted_permissions") or "",
            "app_roles": row.get("app_roles") if row.get("app_roles") is not None else "",
            "access_checked": row.get("access_checked"),
            "access_detail": row.get("access_detail") or ""})
    return pd.DataFrame(out, columns=REPORT_COLUMNS)


class AccessMixin:
    """Access methods of the `M365` object (see services.access)."""

    def check_access(self, tenant=None) -> pd.DataFrame:
        """Ask Entra and Graph now what the app may do in each tenant (or the given ones);
        stores it and returns the access report (one row per tenant)."""
        ids = None if tenant is None else self._tenant_ids(tenant)
        if ids is None and not self._discovered:
            try:
                self.discover()        # tenants added (or relationships ended) since last time
            except GraphError as exc:
                log.warning("tenant discovery failed; checking the tenants already known: %s", exc)
        return check_access(self, ids)

    def access(self, tenant=None) -> pd.DataFrame:
        """The access report from the store (what the last sync or check found)."""
        ids = None if tenant is None else self._tenant_ids(tenant)
        return access_report(self, ids)

    def feature_refusal(self, tenant, feature: str) -> str | None:
        """Why `feature` (a services.permissions.FEATURES key) is refused in this tenant, or
        None when it may be used; the check workflows make before any write."""
        return A.feature_refusal(self, self.resolve_tenant(tenant), feature)

    def features_off(self, tenant) -> dict[str, str]:
        """feature key -> why it is off in this tenant ({} when everything works)."""
        row = self.store.tenant(self.resolve_tenant(tenant)) or {}
        return A.features_off(row)
