"""Fixtures for the emulator's contract tests: small worlds, plain `requests` over HTTPS.

Every call passes `verify=` explicitly: REQUESTS_CA_BUNDLE in the environment would otherwise
override a session's own CA setting.
"""
from __future__ import annotations

import pytest
import requests

from emulator import Emulator


class Api:
    """Graph for one tenant, as a client sees it: URL, token, CA file, nothing else."""

    def __init__(self, emu: Emulator, tenant_id: str, token: str | None = None):
        self.emu, self.tenant_id = emu, tenant_id
        self.token = token or emu.token(tenant_id)
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.emu.graph_url}/{path.lstrip('/')}"

    def call(self, method: str, path: str, *, headers: dict | None = None, **kw) -> requests.Response:
        hdrs = {"Authorization": f"Bearer {self.token}"}
        hdrs.update(headers or {})
        return self.http.request(method, self.url(path), headers=hdrs,
                                 verify=str(self.emu.ca_file), timeout=30, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def ok(self, method: str, path: str, **kw):
        resp = self.call(method, path, **kw)
        assert resp.status_code < 400, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def all(self, path: str, params: dict | None = None, headers: dict | None = None) -> list[dict]:
        out, url = [], path
        while url:
            resp = self.get(url, params=params, headers=headers)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            out.extend(body["value"])
            url, params = body.get("@odata.nextLink"), None
        return out


def graph_error(resp: requests.Response, status: int, code: str | None = None) -> dict:
    """Assert Graph's error shape and return the error object."""
    assert resp.status_code == status, resp.text
    assert resp.headers.get("request-id")
    error = resp.json()["error"]
    assert error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == resp.headers["request-id"]
    assert inner["date"] and inner["client-request-id"]
    if code:
        assert error["code"] == code, error
    return error


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=2, users_per_tenant=40, seed=11) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def tid(emu) -> str:
    return emu.tenant_ids[0]


@pytest.fixture(scope="module")
def api(emu, tid) -> Api:
    return Api(emu, tid)


@pytest.fixture(scope="module")
def other(emu) -> Api:
    return Api(emu, emu.tenant_ids[1])


_counter = iter(range(1, 10**6))


def new_user(api: Api, **extra) -> dict:
    """Create a user in the tenant's default domain; returns the created user (with id)."""
    n = next(_counter)
    domain = next(d["id"] for d in api.ok("GET", "domains")["value"] if d["isDefault"])
    body = {"accountEnabled": True, "displayName": f"Test User {n}", "mailNickname": f"test.user{n}",
            "userPrincipalName": f"test.user{n}@{domain}", "usageLocation": "US",
            "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}}
    body.update(extra)
    resp = api.post("users", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()
