"""All Tenants in a real browser with the emulator's access traps on: the Access column says "No
consent" with a Grant consent link to the tenant's admin-consent URL, and "Missing" with the
missing permission named; Overview says which tenants the idle licenses leave out."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_pages import box


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(emulator, m365, base_url) with the access traps on (the session's `served` world has
    them off): 4 tenants x 15 users, synced, the dashboard on 127.0.0.1. `open_page` (conftest)
    opens this module's pages on it."""
    from tests.conftest import require_chromium
    require_chromium()
    from dashboard.server import free_port, serve
    from emulator import Emulator
    from services import connect
    emu = Emulator(tenants=4, users_per_tenant=15, seed=7, access_traps=True,
                   state_dir=tmp_path_factory.mktemp("browser-access-emulator")).start()
    m365 = connect(emu.config_path)
    m365.sync(progress=False)
    port = free_port()
    server = serve(m365, port=port, threaded=True)
    yield emu, m365, f"http://127.0.0.1:{port}"
    server.stop()
    m365.close()
    emu.stop()


def trap(emu, label: str) -> str:
    return next(tid for tid, name in emu.traps.items() if name == label)


def test_browser_all_tenants_access_shows_grant_consent_and_the_missing_permission(served,
                                                                                   open_page,
                                                                                   shot):
    emu, m365, _ = served
    names = m365.tenants().set_index("tenant_id")
    no_consent = names.loc[trap(emu, "no consent (AADSTS65001)")]
    missing = names.loc[trap(emu, "missing AuditLog.Read.All")]
    page = open_page("page=tenants")
    row = page.locator(".m365-tenants .tabulator-row", has_text=no_consent["display_name"])
    expect(row.locator(".m365-access")).to_contain_text("No consent")
    link = row.locator("a.m365-grant-consent", has_text="Grant consent")
    expect(link).to_have_attribute("href", no_consent["consent_url"])
    expect(link).to_have_attribute("target", "_blank")
    row = page.locator(".m365-tenants .tabulator-row", has_text=missing["display_name"])
    cell = row.locator(".m365-access")
    expect(cell).to_contain_text("Missing 1 permission")
    expect(cell).to_contain_text("AuditLog.Read.All")
    expect(cell).to_contain_text("last sign-in")
    shot(page, "all-tenants-access")
    assert page.errors == []


def test_browser_all_tenants_access_fits_at_1280_by_800(served, chromium, shot):
    _emu, _m365, base = served
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/?page=tenants")
        page.locator(".m365-tenants .m365-access").first.wait_for()
        # Every column fits, the row's last action included: nothing behind a sideways scroll.
        holder = box(page, page.locator(".m365-tenants .tabulator-tableholder"))
        sync = box(page, page.locator(".m365-tenants .tabulator-row button",
                                      has_text="Sync now").first)
        assert sync["x"] + sync["width"] <= holder["x"] + holder["width"]
        access = box(page, page.locator(".m365-tenants .tabulator-col[tabulator-field="
                                        "'access_html']"))
        assert access["width"] >= 160                  # the Access words are not squeezed
        shot(page, "all-tenants-access-1280x800")
    finally:
        context.close()


def test_browser_check_access_shows_busy_then_the_summary(served, open_page):
    page = open_page("page=tenants")
    page.locator(".m365-tenants .tabulator-row").first.wait_for()
    page.locator(".m365-check-access button").click()
    expect(page.locator(".m365-alert-warning").first).to_contain_text("Checked access in ")
    expect(page.locator(".m365-check-access button")).to_be_enabled()
    assert page.errors == []


def test_browser_overview_idle_licenses_say_which_tenants_they_leave_out(served, open_page):
    emu, m365, _ = served
    name = m365.tenants().set_index("tenant_id").loc[trap(emu, "no Entra ID P1"), "display_name"]
    page = open_page("page=overview")
    expect(page.locator(".m365-card-idle .m365-idle-excluded")).to_contain_text(
        f"{name} (needs Entra ID P1)")
    expect(page.locator(".m365-idle-excluded-note")).to_contain_text(f"{name} (needs Entra ID P1)")
