"""m365dash users, serve's refusals, role mapping and session identity: no server needed."""
from __future__ import annotations

import io
import json

import pytest

from cli import main
from dashboard.users_file import UsersFile
from services.actors import Actor

from .conftest import signed_cookie

PASSWORD = "a-long-enough-password-42"
SECRET = "s" * 48


# ---- m365dash users ----------------------------------------------------------------------------

def test_users_add_from_stdin_stores_a_bcrypt_hash_and_never_prints_the_password(
        tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "alice", "--role", "technician", "--password-stdin",
                 "--users-file", str(path)]) == 0
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err
    assert "added alice (technician)" in out.out
    data = json.loads(path.read_text())
    assert data["alice"]["role"] == "technician"
    assert data["alice"]["hash"].startswith("$2b$") and PASSWORD not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0          # owner-only
    assert UsersFile(path).verify("alice", PASSWORD) == "technician"
    assert UsersFile(path).verify("alice", PASSWORD + "x") is None


def test_users_add_prompts_twice_with_getpass_and_refuses_a_mismatch(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.json"
    answers = iter([PASSWORD, PASSWORD + "-typo"])
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or next(answers))
    assert main(["users", "add", "bob", "--role", "admin", "--users-file", str(path)]) == 2
    assert len(prompts) == 2
    assert "differ" in capsys.readouterr().err
    assert not path.exists()

    answers = iter([PASSWORD, PASSWORD])
    assert main(["users", "add", "bob", "--role", "admin", "--users-file", str(path)]) == 0
    assert UsersFile(path).verify("bob", PASSWORD) == "admin"


def test_users_add_bad_role_lists_the_valid_ones_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "carol", "--role", "superuser", "--password-stdin",
                 "--users-file", str(tmp_path / "u.json")]) == 2
    err = capsys.readouterr().err
    assert "superuser" in err and "viewer, technician, admin" in err


def test_users_add_short_password_and_bad_name_exit_2(tmp_path, monkeypatch, capsys):
    path = tmp_path / "u.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "dave", "--role", "viewer", "--password-stdin",
                 "--users-file", str(path)]) == 2
    assert "at least 12" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "bad name!", "--role", "viewer", "--password-stdin",
                 "--users-file", str(path)]) == 2
    assert not path.exists()


def test_users_list_shows_names_and_roles_never_hashes_and_remove_works(users_file, capsys):
    path = users_file({"zoe": ("viewer", PASSWORD), "adam": ("admin", PASSWORD)}).path
    assert main(["users", "list", "--users-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["NAME  ROLE", "adam  admin", "zoe   viewer"]
    assert "$2b$" not in out
    assert main(["users", "remove", "zoe", "--users-file", str(path)]) == 0
    assert main(["users", "remove", "zoe", "--users-file", str(path)]) == 2
    assert "no user 'zoe'" in capsys.readouterr().err
    assert UsersFile(path).roles() == {"adam": "admin"}


def test_users_default_file_is_under_m365dash_home(tmp_path, monkeypatch):
    monkeypatch.setenv("M365DASH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("M365DASH_USERS", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "eve", "--role", "viewer", "--password-stdin"]) == 0
    assert (tmp_path / "home" / "users.json").exists()


# ---- m365dash serve refusals --------------------------------------------------------------------

@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.10", "::"])
def test_serve_beyond_loopback_without_auth_exits_2_saying_what_to_configure(address, capsys):
    assert main(["serve", "--address", address]) == 2
    err = capsys.readouterr().err
    for needed in ("--auth users-file", "m365dash users add", "--auth entra",
                   "M365DASH_ENTRA_CLIENT_ID", "M365DASH_ENTRA_CLIENT_SECRET",
                   "M365DASH_ENTRA_TENANT_ID", "M365DASH_COOKIE_SECRET", "--cookie-secret-file"):
        assert needed in err, needed


def test_serve_function_refuses_a_public_address_without_auth():
    from dashboard.server import serve
    with pytest.raises(ValueError, match="needs authentication"):
        serve(object(), address="0.0.0.0", port=5999)


def test_serve_with_auth_but_no_cookie_secret_exits_2(users_file, monkeypatch, capsys):
    monkeypatch.delenv("M365DASH_COOKIE_SECRET", raising=False)
    path = users_file({"admin1": ("admin", PASSWORD)}).path
    for auth in ("users-file", "entra"):
        assert main(["serve", "--address", "0.0.0.0", "--auth", auth,
                     "--users-file", str(path)]) == 2
        err = capsys.readouterr().err
        assert "cookie secret" in err and "M365DASH_COOKIE_SECRET" in err
        assert "--cookie-secret-file" in err


def test_serve_refuses_a_short_cookie_secret_and_an_unreadable_secret_file(tmp_path, users_file,
                                                                           monkeypatch, capsys):
    path = users_file({"admin1": ("admin", PASSWORD)}).path
    monkeypatch.setenv("M365DASH_COOKIE_SECRET", "too-short")
    assert main(["serve", "--address", "0.0.0.0", "--auth", "users-file",
                 "--users-file", str(path)]) == 2
    assert "at least 32" in capsys.readouterr().err
    monkeypatch.delenv("M365DASH_COOKIE_SECRET")
    assert main(["serve", "--address", "0.0.0.0", "--auth", "users-file", "--users-file",
                 str(path), "--cookie-secret-file", str(tmp_path / "nope")]) == 2
    assert "cannot read the cookie secret file" in capsys.readouterr().err


def test_serve_users_file_auth_needs_at_least_one_user(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("M365DASH_COOKIE_SECRET", SECRET)
    assert main(["serve", "--address", "0.0.0.0", "--auth", "users-file",
                 "--users-file", str(tmp_path / "empty.json")]) == 2
    assert "m365dash users add" in capsys.readouterr().err


def test_serve_entra_auth_lists_missing_variables_and_refuses_multi_tenant(monkeypatch, capsys):
    monkeypatch.setenv("M365DASH_COOKIE_SECRET", SECRET)
    for name in ("M365DASH_ENTRA_CLIENT_ID", "M365DASH_ENTRA_CLIENT_SECRET",
                 "M365DASH_ENTRA_TENANT_ID", "PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET",
                 "AAD_TENANT_ID", "PANEL_OAUTH_EXTRA_PARAMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PANEL_OAUTH_KEY", "11111111-2222-3333-4444-555555555555")
    assert main(["serve", "--address", "0.0.0.0", "--auth", "entra"]) == 2
    err = capsys.readouterr().err
    assert "M365DASH_ENTRA_CLIENT_SECRET" in err and "M365DASH_ENTRA_TENANT_ID" in err
    assert "M365DASH_ENTRA_CLIENT_ID" not in err
    monkeypatch.setenv("PANEL_OAUTH_SECRET", "client-secret-value")
    monkeypatch.setenv("PANEL_OAUTH_EXTRA_PARAMS", "{'tenant': 'common'}")
    assert main(["serve", "--address", "0.0.0.0", "--auth", "entra"]) == 2
    err = capsys.readouterr().err
    assert "own tenant" in err and "client-secret-value" not in err


def test_entra_settings_from_our_variables_or_panels():
    from dashboard.session_identity import entra_from_env
    assert entra_from_env({"M365DASH_ENTRA_CLIENT_ID": "a", "M365DASH_ENTRA_CLIENT_SECRET": "b",
                           "M365DASH_ENTRA_TENANT_ID": "t"}) == \
        {"client_id": "a", "client_secret": "b", "tenant_id": "t"}
    assert entra_from_env({"PANEL_OAUTH_KEY": "a", "PANEL_OAUTH_SECRET": "b",
                           "PANEL_OAUTH_EXTRA_PARAMS": "{'tenant': 't2'}",
                           "PANEL_OAUTH_REDIRECT_URI": "https://dash.example/login"}) == \
        {"client_id": "a", "client_secret": "b", "tenant_id": "t2",
         "redirect_uri": "https://dash.example/login"}


def test_auth_settings_repr_hides_secrets():
    from dashboard.session_identity import AuthSettings
    s = AuthSettings("entra", cookie_secret=SECRET, client_id="cid", client_secret="csecret",
                     tenant_id="tid")
    assert SECRET not in repr(s) and "csecret" not in repr(s)


def test_websocket_origins_are_the_served_address_plus_allowed_proxies():
    from dashboard.server import websocket_origins
    assert websocket_origins("127.0.0.1", 5006) == ["127.0.0.1:5006", "localhost:5006"]
    assert websocket_origins("10.0.0.5", 8080, ["https://dash.example.com"]) == \
        ["10.0.0.5:8080", "dash.example.com:80", "dash.example.com:443"]
    assert "proxy.example:8443" in websocket_origins("10.0.0.5", 8080, ["proxy.example:8443"])
    assert not any("*" in o for o in websocket_origins("0.0.0.0", 8080))
    assert websocket_origins("::1", 5006) == ["[::1]:5006", "localhost:5006", "127.0.0.1:5006"]
    assert websocket_origins("10.0.0.5", 8080, ["[2001:db8::1]:8443"])[-1] == "[2001:db8::1]:8443"


# ---- roles from Entra claims ----------------------------------------------------------------------

@pytest.mark.parametrize("roles, expected", [
    (["M365Dash.Viewer"], "viewer"),
    (["M365Dash.Technician"], "technician"),
    (["M365Dash.Admin"], "admin"),
    (["M365Dash.Viewer", "M365Dash.Admin", "M365Dash.Technician"], "admin"),
    (["m365dash.technician", "M365Dash.Viewer"], "technician"),
    ("M365Dash.Viewer", "viewer"),
    (["Some.Other.Role"], None),
    ([], None),
    (None, None),
])
def test_role_from_claims_highest_app_role_wins(roles, expected):
    from dashboard.session_identity import role_from_claims
    assert role_from_claims({"roles": roles}) == expected


def test_actor_from_claims_without_a_role_is_refused():
    from dashboard.session_identity import actor_from_claims
    assert actor_from_claims({"preferred_username": "ann@msp.example",
                              "roles": ["M365Dash.Technician"]}) == Actor("ann@msp.example",
                                                                          "technician")
    with pytest.raises(PermissionError, match="no M365 Dashboard role"):
        actor_from_claims({"preferred_username": "ann@msp.example", "roles": []})
    with pytest.raises(PermissionError):
        actor_from_claims({"preferred_username": "ann@msp.example"})
    assert actor_from_claims({"upn": "x@y", "roles": ["M365Dash.Admin"]}).name == "x@y"


def test_safe_next_keeps_local_paths_only():
    from dashboard.signin import safe_next
    assert safe_next("/?page=users&tenant=x") == "/?page=users&tenant=x"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                "", None, "/login?next=/", "/logout"):
        assert safe_next(bad) == "/"


# ---- session_actor ------------------------------------------------------------------------------

def _signed(settings, name, value, age_days: float = 0.0):
    return signed_cookie(settings.cookie_secret, name, value, age_seconds=age_days * 86400)


def test_session_actor_is_the_default_without_sign_in():
    from dashboard.session_identity import session_actor
    default = Actor("operator", "admin")
    assert session_actor(default) is default


def test_session_actor_from_users_file_cookie(users_file, session_cookies):
    from dashboard.session_identity import AuthSettings, serving, session_actor
    users = users_file({"tom": ("technician", PASSWORD)})
    settings = AuthSettings("users-file", cookie_secret=SECRET, users_file=users)
    default = Actor("operator", "admin")
    session_cookies["user"] = _signed(settings, "user", "tom")
    with serving(settings):
        assert session_actor(default) == Actor("tom", "technician")
        users.add("tom", "viewer", PASSWORD)                   # role changes apply to new sessions
        assert session_actor(default) == Actor("tom", "viewer")
        users.remove("tom")
        with pytest.raises(PermissionError, match="no longer"):
            session_actor(default)
        users.add("tom", "admin", PASSWORD)
        session_cookies["user"] = _signed(settings, "user", "tom", age_days=1.0)   # > 12 h old
        with pytest.raises(PermissionError, match="expired"):
            session_actor(default)
        other = AuthSettings("users-file", cookie_secret="x" * 40, users_file=users)
        session_cookies["user"] = _signed(other, "user", "tom")
        with pytest.raises(PermissionError):                  # signed with another secret
            session_actor(default)
        session_cookies.clear()
        with pytest.raises(PermissionError):                  # no cookie at all
            session_actor(default)
        session_cookies.update(user=_signed(settings, "user", "tom"), is_guest="1")
        with pytest.raises(PermissionError, match="guest"):
            session_actor(default)


def test_session_actor_from_entra_id_token_app_roles(session_cookies):
    from cryptography.fernet import Fernet

    from panel.util import base64url_encode

    from dashboard.session_identity import AuthSettings, serving, session_actor
    settings = AuthSettings("entra", cookie_secret=SECRET, client_id="cid", client_secret="cs",
                            tenant_id="00000000-0000-0000-0000-000000000001")

    def id_token(claims):
        jwt = ".".join([base64url_encode(json.dumps({"alg": "none"})),
                        base64url_encode(json.dumps(claims)), "sig"])
        return Fernet(settings.encryption_key).encrypt(jwt.encode())

    name = "ann@msp.example"
    session_cookies["user"] = _signed(settings, "user", name)
    session_cookies["id_token"] = _signed(settings, "id_token", id_token(
        {"preferred_username": name, "roles": ["M365Dash.Viewer", "M365Dash.Technician"]}))
    with serving(settings):
        assert session_actor(Actor("x", "admin")) == Actor(name, "technician")
        session_cookies["id_token"] = _signed(settings, "id_token", id_token(
            {"preferred_username": name, "roles": []}))
        with pytest.raises(PermissionError, match="no M365 Dashboard role"):
            session_actor(Actor("x", "admin"))
        session_cookies["id_token"] = _signed(settings, "id_token", id_token(
            {"preferred_username": name, "roles": ["M365Dash.Admin"], "tid": "another-tenant"}))
        with pytest.raises(PermissionError, match="another Entra tenant"):
            session_actor(Actor("x", "admin"))
        session_cookies["id_token"] = _signed(settings, "id_token", id_token(
            {"preferred_username": name, "roles": ["M365Dash.Admin"], "aud": "other-app"}))
        with pytest.raises(PermissionError, match="another application"):
            session_actor(Actor("x", "admin"))


def test_access_log_redacts_oauth_codes_and_tokens():
    from dashboard.signin import redact_uri
    assert redact_uri("/login?code=abc&state=xyz&next=%2F") == "/login?code=***&state=***&next=%2F"
    assert redact_uri("/?page=users&tenant=t1") == "/?page=users&tenant=t1"
    assert redact_uri("/autoload.js?bokeh-session-id=s1&x=1") == "/autoload.js?bokeh-session-id=***&x=1"


def test_login_throttle_counts_attempts_per_name_and_per_address():
    from dashboard.signin import LoginThrottle
    t = LoginThrottle(limit=3, ip_limit=5, window=60)
    for _ in range(3):
        assert not t.blocked("ip:1.2.3.4", "name:alice")
        assert t.admit("ip:1.2.3.4", "name:alice") is not None
    assert t.blocked("ip:9.9.9.9", "name:alice")            # the name, from anywhere
    assert t.admit("ip:9.9.9.9", "name:alice") is None
    assert not t.blocked("ip:1.2.3.4", "name:bob")          # the address is under its limit
    assert t.admit("ip:1.2.3.4", "name:bob") is not None
    assert t.admit("ip:1.2.3.4", "name:carol") is not None
    assert t.blocked("ip:1.2.3.4", "name:dave")             # 5 from one address
    expired = LoginThrottle(limit=1, window=0.0)
    assert expired.admit("name:x") is not None
    assert not expired.blocked("name:x")


def test_sign_out_url_only_when_signing_in(users_file):
    from dashboard.session_identity import AuthSettings, serving, sign_out_url
    assert sign_out_url() is None
    users = users_file({"tom": ("technician", PASSWORD)})
    with serving(AuthSettings("users-file", cookie_secret=SECRET, users_file=users)):
        assert sign_out_url() == "/logout"
    assert sign_out_url() is None


def test_session_actor_fails_closed_for_a_served_session_it_cannot_place(monkeypatch):
    import panel as pn
    from bokeh.document import Document

    from dashboard.session_identity import serving, session_actor
    default = Actor("operator", "admin")
    doc = Document()
    monkeypatch.setattr(doc, "_session_context", lambda: object(), raising=False)
    monkeypatch.setattr(type(doc), "session_context", property(lambda self: object()),
                        raising=False)
    with pn.io.server.set_curdoc(doc):
        with pytest.raises(PermissionError, match="cannot tell"):
            session_actor(default)
        with serving(None):                       # built by dashboard.server without sign-in
            assert session_actor(default) is default
        assert session_actor(default) is default  # ...and remembered for later callbacks


def test_entra_user_claim_follows_the_provider_unless_set():
    from dashboard.session_identity import AuthSettings, entra_from_env
    common = dict(cookie_secret=SECRET, client_id="c", client_secret="s", tenant_id="t")
    assert AuthSettings("entra", **common).jwt_user == "preferred_username"
    assert AuthSettings("entra", provider="azure", **common).jwt_user == "unique_name"
    assert AuthSettings("entra", jwt_user="upn", **common).jwt_user == "upn"
    assert entra_from_env({"M365DASH_ENTRA_USER_CLAIM": "email"})["jwt_user"] == "email"
