"""Create a user through the three tabs, check Graph, edit, offboard and see the seat return."""
from __future__ import annotations

import re
import string

import pytest
from playwright.sync_api import expect

from services.passwords import GENERATED_SYMBOLS
from tests.browser.conftest import SHOTS

GENERATED = set(string.ascii_letters + string.digits + GENERATED_SYMBOLS)


def wait_plan(page, text: str):
    """Wait for the plan panel naming `text`; on a timeout, fail with what the page shows and
    keep a screenshot of it."""
    try:
        page.locator(".m365-plan", has_text=text).wait_for()
    except Exception as exc:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"FAILED-plan-{text.replace(' ', '-')}.png"), full_page=True)
        raise AssertionError(f"no plan with {text!r}; the page shows:\n"
                             f"{page.locator('.m365-main').inner_text()[:3000]}") from exc


def confirm_plan(page):
    page.locator(".m365-confirm button").wait_for(state="visible")
    page.locator(".m365-confirm button").click()
    page.locator(".m365-alert-success").last.wait_for()


def fill(page, field: str, value: str):
    box = page.locator(f".m365-field-{field} input")
    box.fill(value)
    box.press("Enter")       # TextInput sends its value on Enter or blur


def seats_left(page, tenant_name: str, product: str) -> int:
    row = page.locator(".m365-skus .tabulator-row", has_text=tenant_name).filter(has_text=product).first
    row.wait_for()
    return int(row.locator(".tabulator-cell[tabulator-field='available']").inner_text().replace(",", ""))


def graph_user(emu, tid: str, upn: str) -> dict:
    session = emu.session(tid)
    user = session.get(f"{emu.graph_url}/users/{upn}",
                       params={"$select": "id,department,assignedLicenses"}).json()
    groups = session.get(f"{emu.graph_url}/users/{user['id']}/memberOf").json()["value"]
    return {"department": user.get("department"),
            "skus": {a["skuId"] for a in user["assignedLicenses"]},
            "groups": {g["id"] for g in groups}}


def test_browser_user_lifecycle(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[2]
    tenant_name = m365.tenants().set_index("tenant_id").loc[tid, "display_name"]
    skus = m365.licenses(tid)
    free = skus[(skus["available"] > 0) & (skus["enabled"] < 1000)
                & (skus["capability_status"] == "Enabled")].iloc[0]
    full = skus[(skus["available"] <= 0) & (skus["enabled"] > 0)].iloc[0]
    team = m365.groups(tid).query("is_team and writable").iloc[0]

    page = open_page("page=licenses")
    before = seats_left(page, tenant_name, free["product_name"])
    page.close()

    # --- User Details: Create User and Continue -------------------------------------------
    page = open_page(f"page=create&tenant={tid}")
    fill(page, "given_name", "Wren")
    fill(page, "surname", "Okafor")
    fill(page, "username", "wren.okafor")
    fill(page, "usage_location", "US")
    fill(page, "department", "Finance")
    shot(page, "create-user-details")
    continue_ = page.locator(".m365-details-continue button")
    assert continue_.inner_text().strip() == "Create User and Continue"
    continue_.click()
    wait_plan(page, "create user")
    shot(page, "create-user-plan")
    confirm_plan(page)
    shown = page.locator(".m365-password-value")
    expect(shown).to_have_text(re.compile(r"^\S{16}$"))
    assert set(shown.inner_text()) <= GENERATED      # shown as set, not mangled by Markdown

    # --- Roles & Licenses: seats shown, a full SKU cannot be picked ------------------------
    choices = page.locator(".m365-license-choices")
    pick = choices.locator("label", has_text=free["product_name"]).first
    pick.wait_for()
    assert (f"{int(free['consumed'])} of {int(free['enabled'])} used, "
            f"{int(free['available'])} left") in pick.inner_text()
    assert choices.locator("label", has_text=full["product_name"]).count() == 0
    locked = page.locator(".m365-licenses .tabulator-row", has_text=full["product_name"]).first
    assert "no seats left" in locked.inner_text()
    pick.locator("input").check()
    shot(page, "create-user-roles-licenses")
    page.locator(".m365-access-continue button").click()
    wait_plan(page, "assign licenses")
    confirm_plan(page)

    # --- Groups: a Team, Save and Close ---------------------------------------------------
    group_choices = page.locator(".m365-group-choices")
    team_box = group_choices.locator("label", has_text=team["display_name"]).first
    team_box.wait_for()
    assert "(Team)" in team_box.inner_text()
    # Distribution lists are offered (changed in Exchange Online); dynamic groups are not.
    dl = page.locator(".m365-groups .tabulator-row",
                      has_text="distribution list, changed in Exchange Online").first
    dl.wait_for()
    dl_name = dl.locator(".tabulator-cell[tabulator-field='display_name']").inner_text()
    expect(group_choices.locator("label", has_text=dl_name).first).to_contain_text(
        "(distribution list)")
    dynamic = page.locator(".m365-groups .tabulator-row", has_text="dynamic group").first
    assert group_choices.locator("label", has_text=dynamic.locator(
        ".tabulator-cell[tabulator-field='display_name']").inner_text()).count() == 0
    team_box.locator("input").check()
    shot(page, "create-user-groups")
    page.locator(".m365-groups-close button").click()
    wait_plan(page, "add to group")     # on a timeout it keeps a screenshot and the page's text
    confirm_plan(page)          # Save and Close: the outcome is shown on All Users
    page.locator(".m365-users .tabulator-row").first.wait_for()

    # --- Graph agrees ------------------------------------------------------------------------
    domain = m365.domains(tid)["domain"].iloc[0]
    upn = f"wren.okafor@{domain}"
    graph = graph_user(emu, tid, upn)
    assert graph["skus"] == {free["sku_id"]}
    assert team["id"] in graph["groups"]

    # --- Find the user in the table, then Edit ----------------------------------------------
    page.locator(".m365-search input").fill("wren")
    user_row = page.locator(".m365-users .tabulator-row", has_text=upn)
    user_row.wait_for()
    shot(page, "all-users-new-user")
    # Panel's button columns have no field name: find the row action by its title.
    user_row.locator("button[title='Edit user']").click()
    page.locator(".m365-field-department input").wait_for()
    # The form is loaded with the user's values before we type over one of them.
    expect(page.locator(".m365-field-department input")).to_have_value("Finance")
    fill(page, "department", "Legal")
    page.locator(".m365-details-close button").click()
    wait_plan(page, "Finance -> Legal")
    shot(page, "edit-user-plan")
    confirm_plan(page)
    assert graph_user(emu, tid, upn)["department"] == "Legal"

    # --- Offboard: Remove assigned licenses only ---------------------------------------------
    uid = m365.resolve_user(tid, upn)["id"]
    page = open_page(f"page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-offboard-licenses .tabulator-row", has_text=free["product_name"]).wait_for()
    page.locator(".m365-toggle-remove_licenses").click()
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    shot(page, "offboard-remove-licenses")
    button.click()
    wait_plan(page, "remove licenses")
    confirm_plan(page)
    assert graph_user(emu, tid, upn)["skus"] == set()

    page = open_page("page=licenses")
    assert seats_left(page, tenant_name, free["product_name"]) == before
    shot(page, "licenses-after-offboard")


def test_browser_offboard_disabled_for_user_with_nothing_to_remove(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    domain = m365.domains(tid)["domain"].iloc[0]
    result = m365.plan_onboarding(tid, user={"given_name": "Empty", "surname": "Hands",
                                             "username": "empty.hands", "domain": domain}).apply()
    assert result.ok
    page = open_page(f"page=offboard&tenant={tid}&user={result.user_id}")
    page.locator(".m365-toggle-remove_licenses").wait_for()
    button = page.locator(".m365-offboard-button button")
    page.locator(".m365-toggle-remove_licenses").click()
    page.locator(".m365-toggle-remove_groups").click()
    page.locator(".m365-blockers", has_text="nothing to change").wait_for()
    assert button.is_disabled()
    shot(page, "offboard-nothing-to-change")
    page.locator(".m365-toggle-block_sign_in").click()
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
