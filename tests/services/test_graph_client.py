"""The Graph choke point: tokens, retries, paging, batching and error mapping, over `responses`."""
import json
import logging

import pytest
import responses

from services.errors import (AmbiguousWrite, AuthFailure, Conflict, GraphError, NotFound,
                             PermissionDeniedByGraph, Throttled, Transient)

from .conftest import GRAPH, SECRET, graph_error


def _token_calls(mocked):
    return [c for c in mocked.calls if c.request.url.endswith("/oauth2/v2.0/token")]


def _graph_calls(mocked):
    return [c for c in mocked.calls if c.request.url.startswith(GRAPH)]


def test_graph_client_acquires_token_from_tenant_authority(mocked, make_graph):
    mocked.get(f"{GRAPH}/organization", json={"value": [{"id": "t1"}]})
    body = make_graph().tenant("t1").get("organization")
    assert body["value"][0]["id"] == "t1"
    [token_call] = _token_calls(mocked)
    assert token_call.request.url == "https://login.example.test/t1/oauth2/v2.0/token"
    assert "client_credentials" in token_call.request.body
    assert _graph_calls(mocked)[0].request.headers["Authorization"] == "Bearer tok-t1-1"


def test_graph_client_reuses_token_across_calls(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", json={"value": []})
    client = make_graph().tenant("t1")
    for _ in range(3):
        client.get("users")
    assert len(_token_calls(mocked)) == 1
    assert len(_graph_calls(mocked)) == 3


def test_graph_client_uses_separate_authority_per_tenant(mocked, make_graph):
    mocked.get(f"{GRAPH}/organization", json={"value": []})
    graph = make_graph()
    graph.tenant("tenant-a").get("organization")
    graph.tenant("tenant-b").get("organization")
    urls = [c.request.url for c in _token_calls(mocked)]
    assert urls == ["https://login.example.test/tenant-a/oauth2/v2.0/token",
                    "https://login.example.test/tenant-b/oauth2/v2.0/token"]
    auth = [c.request.headers["Authorization"] for c in _graph_calls(mocked)]
    assert auth == ["Bearer tok-tenant-a-1", "Bearer tok-tenant-b-2"]
    assert graph.stats.requests == {"tenant-a": 1, "tenant-b": 1}


def test_graph_client_renews_token_once_on_401(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=401,
               json=graph_error("InvalidAuthenticationToken", "Access token has expired."))
    mocked.get(f"{GRAPH}/users", json={"value": [{"id": "u1"}]})
    body = make_graph().tenant("t1").get("users")
    assert body["value"] == [{"id": "u1"}]
    assert len(_token_calls(mocked)) == 2
    auth = [c.request.headers["Authorization"] for c in _graph_calls(mocked)]
    assert auth == ["Bearer tok-t1-1", "Bearer tok-t1-2"]


def test_graph_client_gives_up_after_second_401(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=401,
               json=graph_error("InvalidAuthenticationToken", "Access token validation failure."))
    with pytest.raises(AuthFailure) as info:
        make_graph().tenant("t1").get("users")
    assert info.value.status == 401
    assert len(_graph_calls(mocked)) == 2


def test_graph_client_honours_fractional_retry_after_on_429(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=429, headers={"Retry-After": "1.5"},
               json=graph_error("TooManyRequests", "Too many requests"))
    mocked.get(f"{GRAPH}/users", json={"value": []})
    graph = make_graph()
    graph.tenant("t1").get("users")
    assert graph.sleeps == [1.5]
    assert len(_graph_calls(mocked)) == 2
    assert graph.stats.throttled["t1"] == 1


def test_graph_client_retries_503_then_succeeds(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=503, json=graph_error("ServiceUnavailable", "busy"))
    mocked.get(f"{GRAPH}/users", json={"value": [{"id": "u"}]})
    graph = make_graph()
    assert graph.tenant("t1").get("users")["value"] == [{"id": "u"}]
    assert len(graph.sleeps) == 1 and 0 <= graph.sleeps[0] <= 1.0


def test_graph_client_exhausted_retries_carry_request_id(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=503, headers={"request-id": "rid-503"},
               json=graph_error("ServiceUnavailable", "busy", request_id="rid-503"))
    graph = make_graph(max_retries=3)
    with pytest.raises(Transient) as info:
        graph.tenant("t1").get("users")
    assert info.value.request_id == "rid-503"
    assert info.value.status == 503
    assert "rid-503" in str(info.value)
    assert len(_graph_calls(mocked)) == 4   # the first try and three retries
    assert all(s <= 30 for s in graph.sleeps)


def test_graph_client_throttled_past_deadline_raises_throttled(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", status=429, headers={"Retry-After": "500"},
               json=graph_error("TooManyRequests", "slow down"))
    with pytest.raises(Throttled):
        make_graph(call_deadline=10).tenant("t1").get("users")
    assert len(_graph_calls(mocked)) == 1


def test_graph_client_pages_follow_next_link(mocked, make_graph):
    mocked.get(f"{GRAPH}/users", json={"value": [{"id": "1"}, {"id": "2"}],
                                       "@odata.nextLink": f"{GRAPH}/users?$skiptoken=p2"})
    mocked.get(f"{GRAPH}/users?$skiptoken=p2", json={"value": [{"id": "3"}],
                                                     "@odata.nextLink": f"{GRAPH}/users?$skiptoken=p3"})
    mocked.get(f"{GRAPH}/users?$skiptoken=p3", json={"value": [{"id": "4"}]})
    pager = make_graph().tenant("t1").pages("users", params={"$top": "2"})
    assert [u["id"] for u in pager] == ["1", "2", "3", "4"]
    assert pager.pages == 3
    assert pager.delta_link is None


def test_graph_client_delta_pager_keeps_delta_link(mocked, make_graph):
    mocked.get(f"{GRAPH}/users/delta", json={"value": [{"id": "1"}],
                                             "@odata.deltaLink": f"{GRAPH}/users/delta?$deltatoken=abc"})
    pager = make_graph().tenant("t1").pages("users/delta")
    assert list(pager) == [{"id": "1"}]
    assert pager.delta_link.endswith("$deltatoken=abc")


def test_graph_client_batches_45_requests_in_three_and_resends_inner_429_alone(mocked, make_graph):
    seen_batches = []

    def batch(request):
        reqs = json.loads(request.body)["requests"]
        seen_batches.append([r["id"] for r in reqs])
        out = []
        for r in reqs:
            if r["id"] == "7" and len(seen_batches) == 1:
                out.append({"id": r["id"], "status": 429, "headers": {"Retry-After": "0.25"},
                            "body": graph_error("TooManyRequests", "inner throttle")})
            else:
                out.append({"id": r["id"], "status": 200, "headers": {},
                            "body": {"url": r["url"]}})
        out.reverse()   # Graph answers in any order
        return 200, {}, json.dumps({"responses": out})

    mocked.add_callback(responses.POST, f"{GRAPH}/$batch", callback=batch)
    graph = make_graph()
    reqs = [{"method": "GET", "url": f"/users/u{i}"} for i in range(45)]
    results = graph.tenant("t1").batch(reqs)
    assert [len(b) for b in seen_batches] == [20, 1, 20, 5]
    assert seen_batches[1] == ["7"]
    assert graph.sleeps == [0.25]
    assert [r.body["url"] for r in results] == [f"/users/u{i}" for i in range(45)]
    assert all(r.ok for r in results)


def test_graph_client_batch_keeps_dependent_requests_together(mocked, make_graph):
    seen = []

    def batch(request):
        reqs = json.loads(request.body)["requests"]
        seen.append(reqs)
        return 200, {}, json.dumps({"responses": [
            {"id": r["id"], "status": 204, "headers": {}, "body": None} for r in reqs]})

    mocked.add_callback(responses.POST, f"{GRAPH}/$batch", callback=batch)
    reqs = [{"id": f"r{i}", "method": "GET", "url": f"/x/{i}"} for i in range(19)]
    reqs += [{"id": "create", "method": "POST", "url": "/users", "body": {"a": 1}},
             {"id": "lic", "method": "POST", "url": "/users/x/assignLicense", "body": {},
              "dependsOn": ["create"]}]
    make_graph().tenant("t1").batch(reqs)
    assert [len(b) for b in seen] == [19, 2]   # the dependent pair does not fit after 19
    assert seen[1][1]["dependsOn"] == ["create"]
    by_id = {r["id"]: r for b in seen for r in b}
    assert by_id["create"]["headers"]["Content-Type"] == "application/json"
    batch_of = {r["id"]: n for n, b in enumerate(seen) for r in b}
    assert batch_of["create"] == batch_of["lic"]


@pytest.mark.parametrize("status,body,cls,code", [
    (400, graph_error("Request_BadRequest",
                      "Another object with the same value for property userPrincipalName already exists.",
                      details=[{"target": "userPrincipalName", "code": "ObjectConflict"}]),
     Conflict, "Request_BadRequest"),
    (404, graph_error("Request_ResourceNotFound", "Resource 'x' does not exist."), NotFound,
     "Request_ResourceNotFound"),
    (403, graph_error("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
     PermissionDeniedByGraph, "Authorization_RequestDenied"),
])
def test_graph_client_maps_documented_error_bodies(mocked, make_graph, status, body, cls, code):
    mocked.post(f"{GRAPH}/users", status=status, json=body, headers={"request-id": "hdr-id"})
    with pytest.raises(cls) as info:
        make_graph().tenant("t1").request("POST", "users", json={"displayName": "x"})
    err = info.value
    assert err.status == status and err.code == code
    assert err.request_id == "req-1"
    assert err.graph_message == body["error"]["message"]
    assert len(_graph_calls(mocked)) == 1   # client errors are not retried


@pytest.mark.parametrize("dropped", ["ConnectionError", "ReadTimeout"])
def test_graph_client_dropped_answer_to_post_raises_ambiguous_write(mocked, make_graph, dropped):
    """A POST sent with retry_unsafe=False whose answer is lost is not sent again: it raises
    AmbiguousWrite (the write may have been applied), a Transient GraphError with its code."""
    import requests as rq
    mocked.post(f"{GRAPH}/users", body=getattr(rq, dropped)("reset by peer"))
    graph = make_graph()
    with pytest.raises(AmbiguousWrite) as info:
        graph.tenant("t1").request("POST", "users", json={}, retry_unsafe=False)
    err = info.value
    assert isinstance(err, Transient) and isinstance(err, GraphError)
    assert err.code == "connectionLost" and err.status is None
    assert err.method == "POST" and err.tenant_id == "t1"
    assert "may or may not have been applied" in str(err)
    assert len(_graph_calls(mocked)) == 1 and graph.sleeps == []   # never re-sent


def test_graph_client_lost_connection_of_a_safe_request_is_retried_not_ambiguous(mocked, make_graph):
    """Only an unsafe POST's lost answer is ambiguous: other requests are retried, and when the
    retries run out the failure is a plain Transient."""
    import requests as rq
    mocked.get(f"{GRAPH}/users", body=rq.ConnectionError("reset by peer"))
    graph = make_graph(max_retries=2)
    with pytest.raises(Transient) as info:
        graph.tenant("t1").get("users")
    assert not isinstance(info.value, AmbiguousWrite)
    assert info.value.code == "connectionFailed"
    assert len(_graph_calls(mocked)) == 3


def test_graph_client_wrong_secret_is_auth_failure_without_secret(mocked, make_graph, identity):
    mocked.get(f"{GRAPH}/users", json={"value": []})
    with pytest.raises(AuthFailure) as info:
        make_graph().tenant("wrong-secret").get("users")
    assert "AADSTS7000215" in str(info.value)
    assert SECRET not in str(info.value)


def test_graph_client_logs_no_secret_token_or_password(mocked, make_graph, caplog):
    caplog.set_level(logging.DEBUG)
    password = "P@ssw0rd-Never-Logged-1234"
    mocked.post(f"{GRAPH}/users", status=503, json=graph_error("ServiceUnavailable", "x"))
    mocked.post(f"{GRAPH}/users", status=201, json={"id": "u1"})
    mocked.get(f"{GRAPH}/users", status=401, json=graph_error("InvalidAuthenticationToken", "expired"))
    mocked.get(f"{GRAPH}/users", json={"value": []})
    client = make_graph().tenant("t1")
    client.request("POST", "users", json={"passwordProfile": {"password": password}})
    client.get("users")
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records, "the client should log its retries"
    for secret in (SECRET, password, "tok-t1-1", "tok-t1-2"):
        assert secret not in text
