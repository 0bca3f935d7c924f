"""JSON batching: per-request answers, whole-batch validation errors, dependsOn / 424,
inner throttling with its own Retry-After, relative URLs."""
from __future__ import annotations

from .conftest import graph_error, new_user


def answers(resp) -> dict[str, dict]:
    assert resp.status_code == 200, resp.text
    return {a["id"]: a for a in resp.json()["responses"]}


def test_batch_runs_each_request(api):
    user = new_user(api)
    resp = api.post("$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/organization?$select=id"},
        {"id": "2", "method": "GET", "url": f"/users/{user['id']}?$select=id,jobTitle"},
        {"id": "3", "method": "PATCH", "url": f"/users/{user['id']}", "body": {"jobTitle": "Batched"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "4", "method": "GET", "url": "users/00000000-0000-0000-0000-00000000dead"},
        {"id": "5", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
    ]})
    got = answers(resp)
    assert set(got) == {"1", "2", "3", "4", "5"}
    assert got["1"]["status"] == 200 and got["1"]["body"]["value"][0]["id"] == api.tenant_id
    assert got["2"]["body"]["id"] == user["id"]
    assert got["3"]["status"] == 204 and "body" not in got["3"]
    assert got["4"]["status"] == 404 and got["4"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert got["5"]["status"] == 200
    assert all("headers" in a for a in got.values())
    assert api.ok("GET", f"users/{user['id']}", params={"$select": "jobTitle"})["jobTitle"] == "Batched"


def test_batch_limits_and_payload_errors(api):
    many = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(21)]
    graph_error(api.post("$batch", json={"requests": many}), 400)
    assert answers(api.post("$batch", json={"requests": many[:20]}))["19"]["status"] == 200
    dup = [{"id": "a", "method": "GET", "url": "/organization"}, {"id": "A", "method": "GET", "url": "/domains"}]
    err = graph_error(api.post("$batch", json={"requests": dup}), 400)
    assert "unique" in err["message"]
    no_type = [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"jobTitle": "x"}}]
    assert "Content-Type" in graph_error(api.post("$batch", json={"requests": no_type}), 400)["message"]
    unknown_dep = [{"id": "1", "method": "GET", "url": "/organization", "dependsOn": ["9"]}]
    graph_error(api.post("$batch", json={"requests": unknown_dep}), 400)
    graph_error(api.post("$batch", json={"nothing": []}), 400)
    absolute = answers(api.post("$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": f"{api.emu.graph_url}/organization"}]}))
    assert absolute["1"]["status"] == 400
    assert api.get("$batch").status_code == 405


def test_depends_on_failure_gives_424(api):
    user = new_user(api)
    body = {"addLicenses": [{"skuId": "11111111-1111-1111-1111-111111111111"}], "removeLicenses": []}
    got = answers(api.post("$batch", json={"requests": [
        {"id": "lic", "method": "POST", "url": f"/users/{user['id']}/assignLicense", "body": body,
         "headers": {"Content-Type": "application/json"}},
        {"id": "after", "method": "PATCH", "url": f"/users/{user['id']}", "dependsOn": ["lic"],
         "body": {"jobTitle": "never"}, "headers": {"Content-Type": "application/json"}},
        {"id": "chain", "method": "GET", "url": "/organization", "dependsOn": ["after"]},
        {"id": "free", "method": "GET", "url": "/organization"},
    ]}))
    assert got["lic"]["status"] == 400
    assert got["after"]["status"] == 424 and got["chain"]["status"] == 424
    assert got["free"]["status"] == 200
    assert api.ok("GET", f"users/{user['id']}", params={"$select": "jobTitle"})["jobTitle"] != "never"


def test_dependent_requests_run_after_their_dependency(api):
    group = next(g for g in api.all("groups") if g["displayName"] == "SG-VPN Users")
    user = new_user(api)
    got = answers(api.post("$batch", json={"requests": [
        {"id": "check", "method": "GET", "url": f"/groups/{group['id']}/members?$select=id&$top=999",
         "dependsOn": ["add"]},
        {"id": "add", "method": "POST", "url": f"/groups/{group['id']}/members/$ref",
         "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user['id']}"},
         "headers": {"Content-Type": "application/json"}},
    ]}))
    assert got["add"]["status"] == 204
    assert user["id"] in {m["id"] for m in got["check"]["body"]["value"]}


def test_inner_requests_are_throttled_on_their_own(emu, api):
    requests_ = [{"id": str(i), "method": "GET", "url": "/organization?$select=id"} for i in range(20)]
    emu.set_faults(throttle_rate=0.5)
    try:
        for _ in range(40):
            resp = api.post("$batch", json={"requests": requests_})
            if resp.status_code == 200:
                break
            graph_error(resp, 429, "TooManyRequests")
        got = answers(resp)
    finally:
        emu.set_faults(throttle_rate=0.0)
    throttled = [a for a in got.values() if a["status"] == 429]
    served = [a for a in got.values() if a["status"] == 200]
    assert throttled and served
    for answer in throttled:
        wait = float(answer["headers"]["Retry-After"])
        assert 0.1 <= wait <= 2.0
        assert answer["body"]["error"]["code"] == "TooManyRequests"
    stats = emu.stats()
    assert stats["batches"] >= 1 and stats["batch_requests"] >= 20 and stats["throttled"] >= len(throttled)


def test_answers_come_in_any_order(api):
    requests_ = [{"id": str(i), "method": "GET", "url": "/organization?$select=id"} for i in range(20)]
    order = [a["id"] for a in api.ok("POST", "$batch", json={"requests": requests_})["responses"]]
    assert sorted(order, key=int) == [str(i) for i in range(20)]
    assert order != [str(i) for i in range(20)]
