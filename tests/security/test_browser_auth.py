"""The authenticated dashboard in headless Chromium: login page, roles in the UI, role checks in
services behind a crafted write."""
from __future__ import annotations

from .conftest import confirm_plan, fill, like_shared, sign_in, signed_cookie
from tests.helpers import run


def visible(page, selector: str):
    return page.locator(selector).filter(visible=True)


def test_browser_anonymous_visitor_gets_the_login_page_no_data_and_no_websocket(
        secure_served, browser_context):
    emu, m365, base, _ = secure_served
    context, capture = browser_context()
    page = context.new_page()
    tid = emu.tenant_ids[0]
    page.goto(f"{base}/?page=users&tenant={tid}")
    page.locator("#username").wait_for()
    page.wait_for_timeout(1000)
    assert "/login" in page.url
    seen = capture.text() + page.content()
    names = list(m365.tenants()["display_name"]) + list(m365.users(tid)["user_principal_name"])
    assert [n for n in names if n in seen] == []
    assert capture.websockets == []
    assert [u for u in capture.requests if "/static/" in u or not u.startswith(base)] == []
    assert page.locator("script").count() == 0


def test_browser_wrong_password_shows_the_login_page_again(secure_served, browser_context):
    base = secure_served[2]
    context, capture = browser_context()
    page = context.new_page()
    sign_in(page, base, "ada.admin", "not-the-right-password")
    page.locator("#login-error").wait_for()
    assert page.locator("#login-error").inner_text() == \
        "Sign-in failed: wrong user name or password."
    assert page.locator("#username").is_visible()
    assert capture.websockets == []
    sign_in(page, base, "nobody.at.all", "not-the-right-password")
    page.locator("#login-error").wait_for()
    assert capture.websockets == []
    assert "user" not in {c["name"] for c in context.cookies()}


def test_browser_sign_in_opens_the_dashboard_and_logout_ends_it(secure_served, signed_in_page):
    emu, m365, base, _ = secure_served
    page, capture = signed_in_page("vera.viewer", "page=tenants")
    for name in m365.tenants()["display_name"]:
        page.locator(".m365-tenants .tabulator-row", has_text=name).wait_for()
    assert capture.websockets and all(ws.startswith("ws://127.0.0.1:") for ws in capture.websockets)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["user"]["httpOnly"] and cookies["user"]["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("user=") == -1      # not readable by scripts
    assert capture.csp_violations() == [] and capture.page_errors == []
    page.goto(f"{secure_served[2]}/logout")
    page.locator("a", has_text="Sign in again").wait_for()
    page.goto(f"{base}/?page=tenants")
    page.locator("#username").wait_for()


def test_browser_viewer_sees_pages_but_no_create_edit_offboard_or_bulk(secure_served,
                                                                         signed_in_page):
    emu, m365, base, _ = secure_served
    tid = emu.tenant_ids[0]
    uid = m365.users(tid)["id"].iloc[3]
    page, _ = signed_in_page("vera.viewer", f"page=users&tenant={tid}")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    page.get_by_text("vera.viewer").first.wait_for()
    assert visible(page, ".m365-create-user").count() == 0
    assert visible(page, ".m365-nav-create").count() == 0
    assert visible(page, ".m365-nav-bulk").count() == 0
    table = page.locator(".m365-users")
    assert table.locator("button", has_text="Edit").filter(visible=True).count() == 0
    assert table.locator("button", has_text="Offboard").filter(visible=True).count() == 0
    page.goto(f"{base}/?page=user&tenant={tid}&user={uid}")
    page.locator(".m365-user-details").wait_for()
    assert visible(page, ".m365-edit").count() == 0
    assert visible(page, ".m365-offboard").count() == 0
    for query in (f"page=edit&tenant={tid}&user={uid}", f"page=offboard&tenant={tid}&user={uid}",
                  f"page=create&tenant={tid}", "page=bulk"):      # deep links to forbidden pages
        page.goto(f"{base}/?{query}")
        page.locator(".m365-main").wait_for()
        page.wait_for_timeout(500)
        for selector in (".m365-details-close", ".m365-offboard-button", ".m365-bulk-apply"):
            assert visible(page, selector).count() == 0, (query, selector)


def test_viewer_write_forced_through_the_view_model_is_refused_and_audited(secure_served,
                                                                            session_cookies):
    """A crafted request still fails in services: the session's view model, built the way
    build_page builds it (session_actor -> m365.as_actor), cannot offboard as a viewer."""
    from dashboard.session_identity import serving, session_actor
    from dashboard.viewmodels import OffboardViewModel
    emu, m365, _base, settings = secure_served
    tid = emu.tenant_ids[1]
    user = m365.users(tid).query("account_enabled").iloc[5]
    session_cookies["user"] = signed_cookie(settings.cookie_secret, "user", "vera.viewer")
    with serving(settings):
        actor = session_actor(m365.actor)
    assert (actor.name, actor.role) == ("vera.viewer", "viewer")
    vm = OffboardViewModel(m365=m365.as_actor(actor))
    assert vm.load(tid, user["id"])
    vm.block_sign_in = True
    run(vm.offboard())                       # the view model itself refuses (or services will below)
    run(vm.confirm())
    # Forced past the view model's own check, as a crafted request would be: services refuse.
    plan = vm.m365.plan_offboarding(tid, user["id"], block_sign_in=True)
    assert vm.propose(plan, "forced", lambda result: None)
    assert run(vm.confirm()) is None
    assert any("denied" in a.text.lower() or "permission" in a.text.lower() for a in vm.alerts)
    graph = emu.session(tid).get(f"{emu.graph_url}/users/{user['id']}",
                                 params={"$select": "accountEnabled"}).json()
    assert graph["accountEnabled"] is True
    audit = m365.audit_log()
    denied = audit[(audit["actor"] == "vera.viewer") & (audit["outcome"] == "denied")]
    assert len(denied) >= 1
    assert set(denied["role"]) == {"viewer"}


def test_browser_technician_creates_and_edits_but_cannot_offboard(secure_served, signed_in_page):
    emu, m365, base, _ = secure_served
    tid = emu.tenant_ids[2]
    page, _ = signed_in_page("tom.tech", f"page=create&tenant={tid}")
    fill(page, "given_name", "Tess")
    fill(page, "surname", "Tech")
    fill(page, "username", "tess.tech")
    fill(page, "usage_location", "US")
    page.locator(".m365-details-continue button").click()
    page.locator(".m365-plan", has_text="create user").wait_for()
    confirm_plan(page)
    page.locator(".m365-password").wait_for()
    domain = m365.domains(tid)["domain"].iloc[0]
    upn = f"tess.tech@{domain}"
    uid = m365.resolve_user(tid, upn)["id"]
    page.goto(f"{base}/?page=edit&tenant={tid}&user={uid}")
    page.locator(".m365-field-department input").wait_for()
    fill(page, "department", "Audit")
    page.locator(".m365-details-close button").click()
    page.locator(".m365-plan", has_text="Audit").wait_for()
    confirm_plan(page)
    graph = emu.session(tid).get(f"{emu.graph_url}/users/{uid}",
                                 params={"$select": "department"}).json()
    assert graph["department"] == "Audit"
    page.goto(f"{base}/?page=user&tenant={tid}&user={uid}")
    page.locator(".m365-user-details").wait_for()
    assert visible(page, ".m365-edit").count() == 1
    assert visible(page, ".m365-offboard").count() == 0
    page.goto(f"{base}/?page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-main").wait_for()
    page.wait_for_timeout(500)
    assert visible(page, ".m365-offboard-button").count() == 0
    audit = m365.audit_log()
    mine = audit[audit["actor"] == "tom.tech"]
    assert {"technician"} == set(mine["role"]) and (mine["outcome"] == "done").sum() >= 2


def test_browser_admin_can_offboard(secure_served, signed_in_page):
    emu, m365, _base, _ = secure_served
    tid = emu.tenant_ids[0]
    user = m365.users(tid).query("account_enabled").iloc[7]
    page, _ = signed_in_page("ada.admin", f"page=offboard&tenant={tid}&user={user['id']}")
    page.locator(".m365-toggle-block_sign_in").click()
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()
    page.locator(".m365-plan").wait_for()
    confirm_plan(page)
    graph = emu.session(tid).get(f"{emu.graph_url}/users/{user['id']}",
                                 params={"$select": "accountEnabled"}).json()
    assert graph["accountEnabled"] is False
    audit = m365.audit_log()
    assert ((audit["actor"] == "ada.admin") & (audit["outcome"] == "done")).any()


def _wait_closed(page, capture, seconds: float) -> bool:
    """Whether one of the page's websockets closed within `seconds`."""
    deadline = seconds * 1000
    waited = 0
    while not capture.closed_websockets and waited < deadline:
        page.wait_for_timeout(250)
        waited += 250
    return bool(capture.closed_websockets)


def test_browser_open_session_ends_when_its_user_is_removed(secure_served, signed_in_page,
                                                           monkeypatch):
    import dashboard.session_identity
    monkeypatch.setattr(dashboard.session_identity, "SESSION_CHECK_SECONDS", 1.0)
    settings = secure_served[3]
    settings.users_file.add("short.lived", "viewer", "short-lived-pass-0123")
    page, capture = signed_in_page("short.lived", "page=tenants", password="short-lived-pass-0123")
    page.locator(".m365-tenants .tabulator-row").first.wait_for()
    page.wait_for_timeout(2000)
    assert capture.websockets                          # the session did open its websocket...
    assert not capture.closed_websockets               # ...still listed: the session stays open
    settings.users_file.remove("short.lived")
    assert _wait_closed(page, capture, 10), "the session's websocket was not closed"
    page.reload()
    page.locator("#username").wait_for()


def test_browser_open_session_ends_when_the_sign_in_expires(secure_served, extra_server,
                                                           signed_in_page, monkeypatch):
    import dashboard.session_identity
    monkeypatch.setattr(dashboard.session_identity, "SESSION_CHECK_SECONDS", 1.0)
    base = extra_server(like_shared(secure_served[3], expiry_hours=8 / 3600))   # 8 seconds
    page, capture = signed_in_page("vera.viewer", "page=tenants", base=base)
    page.locator(".m365-tenants .tabulator-row").first.wait_for()
    assert _wait_closed(page, capture, 20), "the session's websocket outlived its sign-in"
    page.reload()
    page.locator("#username").wait_for()


def test_browser_sign_out_link_in_the_dashboard(secure_served, signed_in_page):
    base = secure_served[2]
    page, _ = signed_in_page("tom.tech", "page=tenants")
    link = page.locator("a[href$='/logout']").filter(visible=True).first
    link.wait_for()
    link.click()
    page.locator("a", has_text="Sign in again").wait_for()
    page.goto(f"{base}/?page=tenants")
    page.locator("#username").wait_for()
