"""What the full-sync speed-ups must keep: per-tenant tokens with one shared OpenID discovery,
license summaries computed once per distinct value, and inserts of rows that lack columns."""
import json
import re

import pytest
import responses
import sqlalchemy as sa

from services.errors import AuthFailure
from services.store import rows as R
from services.store import schema as S
from services.store.write import insert_statements

from .conftest import AUTHORITY, GRAPH

TENANTS = ["0b5e7f4c-1f2a-4c3d-9e8f-00000000000%d" % i for i in range(1, 5)]
UNKNOWN = "0b5e7f4c-1f2a-4c3d-9e8f-0000000000ff"


def _discovery_calls(mocked):
    return [c for c in mocked.calls if c.request.url.endswith("/.well-known/openid-configuration")]


def _token_urls(mocked):
    return [c.request.url for c in mocked.calls if c.request.url.endswith("/oauth2/v2.0/token")]


def test_tenants_by_guid_share_one_discovery_and_keep_their_own_token_endpoint(mocked, make_graph):
    mocked.get(f"{GRAPH}/organization", json={"value": []})
    graph = make_graph()
    for tid in TENANTS:
        graph.tenant(tid).get("organization")
    assert len(_discovery_calls(mocked)) == 1
    assert _token_urls(mocked) == [f"{AUTHORITY}/{tid}/oauth2/v2.0/token" for tid in TENANTS]
    auth = [c.request.headers["Authorization"] for c in mocked.calls if c.request.url.startswith(GRAPH)]
    assert auth == [f"Bearer tok-{tid}-{i}" for i, tid in enumerate(TENANTS, 1)]


def test_tenants_named_by_domain_are_still_discovered_each(mocked, make_graph):
    mocked.get(f"{GRAPH}/organization", json={"value": []})
    graph = make_graph()
    graph.tenant(TENANTS[0]).get("organization")
    graph.tenant("contoso.onmicrosoft.com").get("organization")
    graph.tenant("fabrikam.onmicrosoft.com").get("organization")
    assert len(_discovery_calls(mocked)) == 3


def test_a_document_not_shaped_per_tenant_is_not_shared():
    from services.app_tokens import _SharedDiscovery

    class Session:
        calls = 0

        def get(self, url, **kwargs):
            Session.calls += 1
            tenant = url.split("/")[3]
            doc = {"token_endpoint": f"{AUTHORITY}/common/oauth2/v2.0/token",
                   "authorization_endpoint": f"{AUTHORITY}/{tenant}/oauth2/v2.0/authorize",
                   "issuer": f"{AUTHORITY}/{tenant}/v2.0"}
            return type("R", (), {"status_code": 200, "text": json.dumps(doc), "headers": {}})()

    shared = _SharedDiscovery(Session())
    for tid in TENANTS:
        shared.get(f"{AUTHORITY}/{tid}/v2.0/.well-known/openid-configuration")
    assert Session.calls == len(TENANTS)


def test_an_unknown_tenant_is_refused_at_its_token_endpoint(mocked, make_graph):
    mocked.get(f"{GRAPH}/organization", json={"value": []})
    mocked.add(responses.POST, f"{AUTHORITY}/{UNKNOWN}/oauth2/v2.0/token", status=400, json={
        "error": "invalid_request", "error_codes": [90002],
        "error_description": f"AADSTS90002: Tenant '{UNKNOWN}' not found."})
    # The generic token callback of the identity fixture would answer first: put ours ahead.
    mocked.registered().insert(0, mocked.registered().pop())
    graph = make_graph()
    graph.tenant(TENANTS[0]).get("organization")
    with pytest.raises(AuthFailure) as info:
        graph.tenant(UNKNOWN).get("organization")
    assert f"tenant {UNKNOWN} does not exist" in str(info.value)
    assert "AADSTS90002" in str(info.value)
    assert len(_discovery_calls(mocked)) == 1


LICENSE_CASES = [
    (None, None),
    ([], []),
    ([{"skuId": "A", "disabledPlans": []}], None),
    ([{"skuId": "A", "disabledPlans": ["p1", "p2"]}], []),
    ([{"skuId": "A", "disabledPlans": []}, {"skuId": "b", "disabledPlans": None}],
     [{"skuId": "a", "assignedByGroup": None, "state": "Active", "error": "None"},
      {"skuId": "B", "assignedByGroup": "G2", "state": "Active", "error": "None"},
      {"skuId": "B", "assignedByGroup": "g1", "state": "Error", "error": "CountViolation"}]),
    ([{"skuId": "A", "disabledPlans": []}],
     [{"skuId": "A", "assignedByGroup": "g1", "state": "Active", "error": "None"}]),
    ([{"skuId": "A", "disabledPlans": []}],
     [{"skuId": "A", "assignedByGroup": None, "state": "Active", "error": "None"}]),
    ([{"skuId": "A", "disabledPlans": [{"odd": "dict"}]}], None),      # unhashable: no cache
]


@pytest.mark.parametrize("assigned,states", LICENSE_CASES)
def test_user_licenses_match_license_entries_cached_or_not(assigned, states):
    entries = R.license_entries(assigned, states)
    expected = (entries, ";".join(e["sku_id"] for e in entries), R.sources_code(entries))
    for _ in range(2):                    # the second call comes from the cache
        assert R.user_licenses(assigned, states) == expected


def test_user_row_of_similar_users_differs_where_their_licenses_differ():
    base = {"id": "u", "assignedLicenses": [{"skuId": "A", "disabledPlans": []}]}
    direct = R.user_row({**base, "licenseAssignmentStates": [
        {"skuId": "A", "assignedByGroup": None, "state": "Active"}]})
    by_group = R.user_row({**base, "licenseAssignmentStates": [
        {"skuId": "A", "assignedByGroup": "G1", "state": "Active"}]})
    assert direct["license_sources"] == "a=direct"
    assert by_group["license_sources"] == "a=g:g1"
    assert by_group["_licenses"][0]["assigned_by_group"] == "g1"


def test_insert_statements_fill_missing_columns_with_null():
    dialect = sa.create_engine("sqlite://").dialect
    rows = [{"tenant_id": "t", "id": "a", "name": "x", "is_default": True},
            {"tenant_id": "t", "name": "y"}]
    [(sql, params)] = insert_statements(dialect, S.domains, rows)
    order = [c.name for c in S.domains.columns]
    assert sql.count("?") == 2 * len(order)
    assert params == tuple(r.get(k) for r in rows for k in order)
