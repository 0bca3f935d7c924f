"""Identity: the certificate, OIDC discovery, the token endpoint (with Entra's errors), msal,
bearer-token checks on Graph, and tenant isolation (the tenant comes from the token)."""
from __future__ import annotations

import ipaddress
import stat

import jwt
import msal
import pytest
import requests
from cryptography import x509

from emulator import Emulator
from tests.helpers import wait_until

from .conftest import Api, graph_error

SCOPE = "https://graph.microsoft.com/.default"


def _token_request(emu, tenant, **form):
    data = {"client_id": emu.client_id, "client_secret": emu.client_secret,
            "grant_type": "client_credentials", "scope": SCOPE}
    data.update(form)
    return requests.post(f"{emu.authority_host}/{tenant}/oauth2/v2.0/token",
                         data={k: v for k, v in data.items() if v is not None},
                         verify=str(emu.ca_file), timeout=30)


def _aad_error(resp, status, error, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID:" in body["error_description"] and body["trace_id"] and body["correlation_id"]
    assert body["timestamp"]
    return body


def test_certificate_is_a_ca_for_loopback(emu):
    cert = x509.load_pem_x509_certificate(emu.ca_file.read_bytes())
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is True
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    # Plain requests trusts it as a CA file, by IP and by name.
    for host in ("127.0.0.1", "localhost"):
        url = f"https://{host}:{emu.port}/{emu.partner_tenant_id}/v2.0/.well-known/openid-configuration"
        assert requests.get(url, verify=str(emu.ca_file), timeout=30).status_code == 200


def test_config_file_points_at_the_emulator(emu):
    import tomllib
    assert stat.S_IMODE(emu.config_path.stat().st_mode) == 0o600
    config = tomllib.loads(emu.config_path.read_text())
    graph = config["graph"]
    assert graph["graph_url"] == emu.graph_url and graph["authority_host"] == emu.authority_host
    assert graph["client_id"] == emu.client_id and graph["client_secret"] == emu.client_secret
    assert graph["partner_tenant_id"] == emu.partner_tenant_id
    assert graph["ca_file"] == str(emu.ca_file)
    assert config["store"]["url"] == f"sqlite:///{emu.config_path.parent / 'store.db'}"
    assert config["store"]["url"].startswith("sqlite:////")


def test_oidc_discovery_per_tenant(emu, tid):
    url = f"{emu.authority_host}/{tid}/v2.0/.well-known/openid-configuration"
    doc = requests.get(url, verify=str(emu.ca_file), timeout=30).json()
    assert doc["token_endpoint"] == f"{emu.authority_host}/{tid}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{emu.authority_host}/{tid}/v2.0"
    keys = requests.get(doc["jwks_uri"], verify=str(emu.ca_file), timeout=30).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA"
    # A verified domain works in place of the tenant id, as with Entra.
    domain = Api(emu, tid).ok("GET", "organization")["value"][0]["verifiedDomains"][0]["name"]
    by_name = requests.get(f"{emu.authority_host}/{domain}/v2.0/.well-known/openid-configuration",
                           verify=str(emu.ca_file), timeout=30).json()
    assert by_name["token_endpoint"] == doc["token_endpoint"]
    unknown = requests.get(f"{emu.authority_host}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration",
                           verify=str(emu.ca_file), timeout=30)
    _aad_error(unknown, 400, "invalid_tenant", 90002)


def test_token_endpoint_answers_like_entra(emu, tid):
    resp = _token_request(emu, tid)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["ext_expires_in"] == 3599
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["tid"] == tid and claims["appid"] == emu.client_id
    assert claims["aud"] == "https://graph.microsoft.com" and claims["exp"] - claims["iat"] == 3600


def test_token_endpoint_errors(emu, tid):
    wrong = _aad_error(_token_request(emu, tid, client_secret="not-the-secret"), 401,
                       "invalid_client", 7000215)
    assert "Invalid client secret provided" in wrong["error_description"]
    assert "not-the-secret" not in wrong["error_description"]
    _aad_error(_token_request(emu, tid, client_secret=None), 401, "invalid_client", 7000216)
    _aad_error(_token_request(emu, tid, client_id="11111111-2222-3333-4444-555555555555"), 400,
               "unauthorized_client", 700016)
    _aad_error(_token_request(emu, "00000000-1111-2222-3333-444444444444"), 400,
               "invalid_request", 90002)
    _aad_error(_token_request(emu, tid, scope="User.Read"), 400, "invalid_scope", 1002012)
    _aad_error(_token_request(emu, tid, grant_type="password"), 400, "unsupported_grant_type", 70003)


def test_real_msal_gets_tokens_for_every_tenant(emu):
    from services.graph import GraphSession
    session = GraphSession(emu.ca_file)
    for tenant in [emu.partner_tenant_id, *emu.tenant_ids]:
        app = msal.ConfidentialClientApplication(
            emu.client_id, client_credential=emu.client_secret,
            authority=f"{emu.authority_host}/{tenant}", http_client=session,
            instance_discovery=False)
        result = app.acquire_token_for_client(scopes=[SCOPE])
        assert "access_token" in result, result
        assert result["token_type"] == "Bearer"
        resp = session.get(f"{emu.graph_url}/organization",
                           headers={"Authorization": f"Bearer {result['access_token']}"})
        assert resp.json()["value"][0]["id"] == tenant
        again = app.acquire_token_for_client(scopes=[SCOPE])
        assert again["token_source"] == "cache"
    bad = msal.ConfidentialClientApplication(
        emu.client_id, client_credential="wrong", authority=f"{emu.authority_host}/{emu.tenant_ids[0]}",
        http_client=session, instance_discovery=False)
    result = bad.acquire_token_for_client(scopes=[SCOPE])
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]


def test_bearer_token_checks(emu, tid):
    api = Api(emu, tid)
    err = graph_error(api.get("users", headers={"Authorization": ""}), 401, "InvalidAuthenticationToken")
    assert err["message"] == "Access token is empty."
    expired = Api(emu, tid, token=emu.token(tid, lifetime=-60))
    resp = expired.get("users")
    err = graph_error(resp, 401, "InvalidAuthenticationToken")
    assert "expired" in err["message"]
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    forged = emu.token(tid)[:-4] + "AAAA"
    graph_error(Api(emu, tid, token=forged).get("users"), 401, "InvalidAuthenticationToken")
    other_key = jwt.encode({"tid": tid, "aud": "https://graph.microsoft.com", "exp": 2**31},
                           "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    graph_error(Api(emu, tid, token=other_key).get("users"), 401, "InvalidAuthenticationToken")


def test_short_lived_tokens_expire():
    with Emulator(tenants=1, users_per_tenant=5, seed=3, token_lifetime=1) as emu:
        tid = emu.tenant_ids[0]
        resp = _token_request(emu, tid)
        assert resp.json()["expires_in"] == 0
        api = Api(emu, tid, token=resp.json()["access_token"])
        # The token's exp is whole seconds, at most one second ahead: ask until it has run out.
        wait_until(lambda: api.get("organization").status_code == 401, timeout=5, interval=0.05)
        graph_error(api.get("organization"), 401, "InvalidAuthenticationToken")
        # The tenant session renews its token by itself.
        assert emu.session(tid).get(f"{emu.graph_url}/organization").status_code == 200


def test_a_token_of_tenant_a_never_reaches_tenant_b(emu, api, other):
    b_user = other.ok("GET", "users", params={"$top": "1", "$select": "id"})["value"][0]["id"]
    b_group = other.ok("GET", "groups", params={"$top": "1", "$select": "id"})["value"][0]["id"]
    graph_error(api.get(f"users/{b_user}"), 404, "Request_ResourceNotFound")
    graph_error(api.patch(f"users/{b_user}", json={"jobTitle": "hacked"}), 404)
    graph_error(api.delete(f"users/{b_user}"), 404)
    graph_error(api.get(f"groups/{b_group}/members"), 404)
    a_group = next(g for g in api.ok("GET", "groups")["value"] if g["displayName"] == "SG-VPN Users")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{b_user}"}
    graph_error(api.post(f"groups/{a_group['id']}/members/$ref", json=ref), 404)
    assert other.ok("GET", f"users/{b_user}", params={"$select": "jobTitle"})["jobTitle"] != "hacked"
    ids_a = {u["id"] for u in api.all("users", params={"$select": "id", "$top": "999"})}
    assert b_user not in ids_a
    assert api.ok("GET", "organization")["value"][0]["id"] == api.tenant_id


@pytest.mark.parametrize("path", ["tenantRelationships/delegatedAdminRelationships",
                                  "tenantRelationships/delegatedAdminCustomers", "contracts"])
def test_customer_tenants_have_no_customers(api, path):
    assert api.ok("GET", path)["value"] == []


def test_partner_lists_customers_through_gdap_and_contracts(emu):
    partner = Api(emu, emu.partner_tenant_id)
    every = partner.ok("GET", "tenantRelationships/delegatedAdminRelationships")["value"]
    assert {r["status"] for r in every} == {"active", "expired"}
    active = partner.ok("GET", "tenantRelationships/delegatedAdminRelationships",
                        params={"$filter": "status eq 'active'"})["value"]
    assert sorted(r["customer"]["tenantId"] for r in active) == sorted(emu.tenant_ids)
    assert all(r["customer"]["displayName"] and r["accessDetails"]["unifiedRoles"] for r in active)
    expired = next(r for r in every if r["status"] == "expired")["customer"]["tenantId"]
    assert expired not in emu.tenant_ids
    # The former client's directory exists but no longer trusts the app.
    _aad_error(_token_request(emu, expired), 400, "unauthorized_client", 700016)
    customers = partner.ok("GET", "tenantRelationships/delegatedAdminCustomers")["value"]
    assert sorted(c["tenantId"] for c in customers) == sorted(emu.tenant_ids)
    contracts = partner.ok("GET", "contracts")["value"]
    assert sorted(c["customerId"] for c in contracts) == sorted(emu.tenant_ids)
    assert all(c["defaultDomainName"] and c["displayName"] for c in contracts)


def test_every_answer_has_a_request_id(emu, tid):
    ca = str(emu.ca_file)
    answers = [
        _token_request(emu, tid), _token_request(emu, tid, client_secret="bad"),
        requests.get(f"{emu.authority_host}/{tid}/v2.0/.well-known/openid-configuration", verify=ca, timeout=30),
        requests.get(f"{emu.graph_url}/users", verify=ca, timeout=30),
        requests.options(f"{emu.graph_url}/users", verify=ca, timeout=30),
        requests.get(f"https://127.0.0.1:{emu.port}/beta/users", verify=ca, timeout=30),
        Api(emu, tid).get("users"), Api(emu, tid).get("nothing/here"),
    ]
    assert all(a.headers.get("request-id") for a in answers), [a.status_code for a in answers]
    assert len({a.headers["request-id"] for a in answers}) == len(answers)
