"""Fault injection: latency that overlaps, 429 with Retry-After, 503, dropped answers after
writes, tenant outages, exemptions of the login endpoints, counters, determinism."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from emulator import Emulator

from .conftest import Api, graph_error


@pytest.fixture(scope="module")
def emu():
    with Emulator(tenants=2, users_per_tenant=20, seed=31, groups_per_tenant=4) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_faults_after(emu):
    yield
    emu.set_faults(latency_ms=0, throttle_rate=0, error_rate=0, drop_after_write_rate=0)
    for tid in emu.tenant_ids:
        emu.allow_tenant(tid)


def test_latency_is_added_without_blocking_other_requests(emu):
    api = Api(emu, emu.tenant_ids[0])
    api.ok("GET", "organization")                  # warm the connection pool
    emu.set_faults(latency_ms=300)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: Api(emu, emu.tenant_ids[0]).get("organization").status_code,
                                 range(8)))
    elapsed = time.perf_counter() - started
    assert statuses == [200] * 8
    assert 0.3 <= elapsed < 1.5, elapsed           # eight 300 ms answers overlapped


def test_throttling_answers_429_with_retry_after(emu):
    api = Api(emu, emu.tenant_ids[0])
    emu.set_faults(throttle_rate=1.0)
    waits = []
    for _ in range(10):
        resp = api.get("users")
        graph_error(resp, 429, "TooManyRequests")
        waits.append(float(resp.headers["Retry-After"]))
    assert all(0.1 <= w <= 2.0 for w in waits) and len(set(waits)) > 1
    # The login endpoints are never throttled.
    token = requests.post(f"{emu.authority_host}/{api.tenant_id}/oauth2/v2.0/token", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret,
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
        verify=str(emu.ca_file), timeout=30)
    assert token.status_code == 200
    oidc = requests.get(f"{emu.authority_host}/{api.tenant_id}/v2.0/.well-known/openid-configuration",
                        verify=str(emu.ca_file), timeout=30)
    assert oidc.status_code == 200


def test_errors_answer_503(emu):
    api = Api(emu, emu.tenant_ids[0])
    emu.set_faults(error_rate=1.0)
    graph_error(api.get("organization"), 503, "serviceNotAvailable")
    before = emu.stats()["errors"]
    graph_error(api.get("users"), 503)
    assert emu.stats()["errors"] == before + 1


def test_dropped_answer_after_a_write_that_happened(emu):
    api = Api(emu, emu.tenant_ids[0])
    domain = next(d["id"] for d in api.ok("GET", "domains")["value"] if d["isDefault"])
    emu.set_faults(drop_after_write_rate=1.0)
    assert api.get("organization").status_code == 200          # reads are never dropped
    body = {"accountEnabled": True, "displayName": "Dropped Answer", "mailNickname": "dropped.answer",
            "userPrincipalName": f"dropped.answer@{domain}",
            "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}}
    with pytest.raises(requests.ConnectionError):
        api.post("users", json=body)
    failed = api.post("users", json={**body, "userPrincipalName": "x@nowhere.example"})
    assert failed.status_code == 400                            # failed writes are answered
    emu.set_faults(drop_after_write_rate=0.0)
    assert api.ok("GET", f"users/dropped.answer@{domain}")["displayName"] == "Dropped Answer"
    assert emu.stats()["dropped"] >= 1


def test_tenant_outage_switch(emu):
    a, b = (Api(emu, t) for t in emu.tenant_ids)
    emu.deny_tenant(a.tenant_id)
    err = graph_error(a.get("users"), 403, "Authorization_RequestDenied")
    assert "Insufficient privileges" in err["message"]
    assert a.post("$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/organization"}]}).status_code == 403
    assert b.get("users").status_code == 200
    emu.deny_tenant(b.tenant_id, status=503)
    graph_error(b.get("users"), 503)
    emu.allow_tenant(a.tenant_id)
    emu.allow_tenant(b.tenant_id)
    assert a.get("users").status_code == 200 and b.get("users").status_code == 200
    assert emu.stats()["denied"] >= 3


def test_counters(emu):
    a = Api(emu, emu.tenant_ids[0])
    before = emu.stats()
    for _ in range(3):
        a.get("organization")
    a.post("$batch", json={"requests": [{"id": str(i), "method": "GET", "url": "/domains"} for i in range(4)]})
    after = emu.stats()
    assert after["requests"] == before["requests"] + 4
    assert after["per_tenant"][a.tenant_id] == before["per_tenant"].get(a.tenant_id, 0) + 4
    assert after["batches"] == before["batches"] + 1
    assert after["batch_requests"] == before["batch_requests"] + 4
    assert set(after) >= {"requests", "per_tenant", "throttled", "errors", "dropped", "batches",
                          "batch_requests"}


def test_faults_are_deterministic_under_the_seed():
    patterns = []
    for _ in range(2):
        with Emulator(tenants=1, users_per_tenant=5, seed=99, groups_per_tenant=2,
                      throttle_rate=0.3, error_rate=0.2) as emu:
            api = Api(emu, emu.tenant_ids[0])
            patterns.append([(r.status_code, r.headers.get("Retry-After"))
                             for r in (api.get("organization") for _ in range(30))])
    assert patterns[0] == patterns[1]
    assert {s for s, _ in patterns[0]} == {200, 429, 503}


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_production_client_gets_through_faults(emu):
    from services.config import load_config
    from services.graph import Graph
    emu.set_faults(throttle_rate=0.2, error_rate=0.1, latency_ms=5)
    graph = Graph(load_config(emu.config_path).graph)
    try:
        client = graph.tenant(emu.tenant_ids[1])
        users = list(client.pages("users", params={"$select": "id", "$top": "7"}))
        assert len(users) == 20
        domain = next(d["id"] for d in client.get("domains")["value"] if d["isDefault"])
        user = client.request("POST", "users", json={
            "accountEnabled": True, "displayName": "Through Faults", "mailNickname": "through.faults",
            "userPrincipalName": f"through.faults@{domain}",
            "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}})
        assert client.get(f"users/{user['id']}", params={"$select": "id"})["id"] == user["id"]
    finally:
        graph.close()
