"""Authentication methods and Temporary Access Pass: Graph v1.0 shapes, the deletion rules
(password stays, default last, alternateMobile before mobile) and the tenant's TAP policy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .conftest import graph_error, new_user

PASSWORD_ID = "28c10230-6103-485e-b985-444c60001490"
TYPES = {
    "#microsoft.graph.passwordAuthenticationMethod": "passwordMethods",
    "#microsoft.graph.phoneAuthenticationMethod": "phoneMethods",
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2Methods",
    "#microsoft.graph.softwareOathAuthenticationMethod": "softwareOathMethods",
    "#microsoft.graph.emailAuthenticationMethod": "emailMethods",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod": "temporaryAccessPassMethods",
}
POLICY = "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"


def _methods(api, uid):
    return api.ok("GET", f"users/{uid}/authentication/methods")["value"]


def _user_with(api, minimum: int):
    for user in api.all("users", params={"$top": "999"}):
        methods = _methods(api, user["id"])
        if len(methods) >= minimum:
            return user, methods
    raise AssertionError(f"no demo user with {minimum} methods")


def test_auth_methods_demo_users_have_a_deterministic_mix(api):
    seen = set()
    for user in api.all("users", params={"$top": "999"}):
        methods = _methods(api, user["id"])
        assert methods[0]["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod"
        assert methods[0]["id"] == PASSWORD_ID
        seen.update(m["@odata.type"] for m in methods)
        assert _methods(api, user["id"]) == methods           # same answer every time
    assert {"#microsoft.graph.phoneAuthenticationMethod",
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"} <= seen
    assert len(seen) >= 5


def test_auth_methods_per_type_collections_list_the_same_methods(api):
    user, methods = _user_with(api, 3)
    for method in methods:
        kind = TYPES[method["@odata.type"]]
        listed = api.ok("GET", f"users/{user['id']}/authentication/{kind}")["value"]
        assert method["id"] in {m["id"] for m in listed}
        one = api.ok("GET", f"users/{user['id']}/authentication/{kind}/{method['id']}")
        assert one["id"] == method["id"]
    graph_error(api.get(f"users/{user['id']}/authentication/shoeMethods"), 400, "BadRequest")


def test_auth_methods_new_user_has_only_password(api):
    user = new_user(api)
    assert [m["id"] for m in _methods(api, user["id"])] == [PASSWORD_ID]


def test_auth_methods_password_cannot_be_deleted(api):
    user, _ = _user_with(api, 1)
    resp = api.delete(f"users/{user['id']}/authentication/passwordMethods/{PASSWORD_ID}")
    graph_error(resp, 405)


def test_auth_methods_default_goes_last_and_alternate_before_mobile(api):
    done = 0
    for user in api.all("users", params={"$top": "999"}):
        methods = [m for m in _methods(api, user["id"]) if m["id"] != PASSWORD_ID]
        if len(methods) < 2:
            continue
        # Deleting in list order hits the rules; retry what Graph refused after the rest are gone.
        refused = []
        for m in methods:
            resp = api.delete(f"users/{user['id']}/authentication/{TYPES[m['@odata.type']]}/{m['id']}")
            if resp.status_code == 400:
                error = graph_error(resp, 400, "badRequest")
                assert ("Cannot delete default method" in error["message"]
                        or "alternateMobile" in error["message"])
                refused.append(m)
            else:
                assert resp.status_code == 204, resp.text
        for m in reversed(refused):
            resp = api.delete(f"users/{user['id']}/authentication/{TYPES[m['@odata.type']]}/{m['id']}")
            assert resp.status_code == 204, resp.text
        assert [m["id"] for m in _methods(api, user["id"])] == [PASSWORD_ID]
        done += 1
        if done >= 6:
            break
    assert done >= 3


def test_auth_methods_default_refusal_text(api):
    for user in api.all("users", params={"$top": "999"}):
        methods = [m for m in _methods(api, user["id"]) if m["id"] != PASSWORD_ID]
        auth = [m for m in methods if TYPES[m["@odata.type"]] == "microsoftAuthenticatorMethods"]
        if auth and len(methods) >= 2:
            resp = api.delete(f"users/{user['id']}/authentication/microsoftAuthenticatorMethods/{auth[0]['id']}")
            error = graph_error(resp, 400, "badRequest")
            assert error["message"] == ("Cannot delete default method with other methods configured. "
                                        "Please change default method before deletion.")
            assert auth[0]["id"] in {m["id"] for m in _methods(api, user["id"])}    # nothing removed
            return
    raise AssertionError("no user whose default Authenticator has company")


def test_tap_policy_shape(api, other):
    policy = api.ok("GET", POLICY)
    assert policy["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
    assert policy["state"] == "enabled"
    for key in ("defaultLifetimeInMinutes", "minimumLifetimeInMinutes", "maximumLifetimeInMinutes",
                "defaultLength", "isUsableOnce"):
        assert key in policy
    assert other.ok("GET", POLICY)["state"] == "disabled"


def test_tap_create_answers_the_pass_once(api):
    user = new_user(api)
    start = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    resp = api.post(f"users/{user['id']}/authentication/temporaryAccessPassMethods",
                    json={"startDateTime": start, "lifetimeInMinutes": 60, "isUsableOnce": True})
    assert resp.status_code == 201, resp.text
    tap = resp.json()
    assert tap["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    assert len(tap["temporaryAccessPass"]) == 8
    assert tap["lifetimeInMinutes"] == 60 and tap["isUsableOnce"] is True
    assert tap["methodUsabilityReason"] == "NotYetValid" and tap["isUsable"] is False
    listed = api.ok("GET", f"users/{user['id']}/authentication/temporaryAccessPassMethods")["value"]
    assert [t["id"] for t in listed] == [tap["id"]]
    assert listed[0]["temporaryAccessPass"] is None
    assert tap["temporaryAccessPass"] not in api.get(f"users/{user['id']}/authentication/methods").text
    # A second pass replaces the first.
    again = api.post(f"users/{user['id']}/authentication/temporaryAccessPassMethods", json={})
    assert again.status_code == 201
    listed = api.ok("GET", f"users/{user['id']}/authentication/temporaryAccessPassMethods")["value"]
    assert [t["id"] for t in listed] == [again.json()["id"]]
    assert listed[0]["lifetimeInMinutes"] == 60            # the policy's default
    assert api.delete(f"users/{user['id']}/authentication/temporaryAccessPassMethods/"
                      f"{listed[0]['id']}").status_code == 204


def test_tap_lifetime_outside_policy_is_refused(api):
    user = new_user(api)
    for lifetime in (30, 481):
        resp = api.post(f"users/{user['id']}/authentication/temporaryAccessPassMethods",
                        json={"lifetimeInMinutes": lifetime})
        error = graph_error(resp, 400, "badRequest")
        assert "between 60 and 480" in error["message"]
    assert not api.ok("GET", f"users/{user['id']}/authentication/temporaryAccessPassMethods")["value"]


def test_tap_disabled_tenant_is_refused(other):
    user = new_user(other)
    resp = other.post(f"users/{user['id']}/authentication/temporaryAccessPassMethods",
                      json={"lifetimeInMinutes": 60})
    error = graph_error(resp, 400, "badRequest")
    assert error["message"] == ("Converged UserCredentialPolicy does not allow creating or updating "
                                "this authentication method. AuthMethodType [TemporaryAccessPass].")


def test_tap_policy_update_and_one_time_rule(api):
    assert api.patch(POLICY, json={"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                                   "isUsableOnce": True}).status_code == 204
    try:
        user = new_user(api)
        resp = api.post(f"users/{user['id']}/authentication/temporaryAccessPassMethods",
                        json={"isUsableOnce": False})
        assert "one-time" in graph_error(resp, 400, "badRequest")["message"]
        graph_error(api.patch(POLICY, json={"minimumLifetimeInMinutes": 5}), 400, "badRequest")
    finally:
        api.patch(POLICY, json={"isUsableOnce": False})
    assert api.ok("GET", POLICY)["isUsableOnce"] is False
