"""Offboard with "convert to shared mailbox, give the manager access" and see it on the user's
page (issue #18, Exchange Online)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.exchange import SHARED_MAILBOX_LIMIT

from .test_user_lifecycle import confirm_plan, wait_plan

pytestmark = pytest.mark.browser


def leaver_with_manager(emu, m365, tid: str) -> tuple[dict, dict]:
    """(user row, manager) of a licensed user with a user mailbox under 50 GB and a manager;
    taken from the end of the tenant's list, away from the users other browser tests open."""
    users = m365.users(tid)
    candidates = users[(users["mailbox_type"] == "UserMailbox")
                       & (users["licenses"].fillna("") != "")
                       & users["account_enabled"].fillna(False).astype(bool)]
    for row in reversed(candidates.to_dict("records")):
        box = emu.mailbox(tid, row["user_principal_name"])
        if box is None or box["TotalItemSizeBytes"] >= SHARED_MAILBOX_LIMIT or box["FullAccess"]:
            continue
        manager = m365.manager_of(tid, row["id"])
        if manager:
            return row, manager
    raise AssertionError("the emulated tenant has no licensed user with a manager and a mailbox "
                         "under 50 GB")


def test_browser_offboard_converts_to_shared_and_gives_the_manager_full_access(served, open_page,
                                                                               shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    user, manager = leaver_with_manager(emu, m365, tid)
    upn = str(user["user_principal_name"])

    page = open_page(f"page=offboard&tenant={tid}&user={user['id']}")
    expect(page.get_by_text("A user mailbox (as of the last sync).")).to_be_visible()
    page.locator(".m365-toggle-convert_to_shared").click()
    page.locator(".m365-toggle-mailbox_access").click()
    access_to = page.locator(".m365-full-access-to input")
    access_to.wait_for(state="visible")
    expect(access_to).to_have_value("manager")          # the default: the manager
    page.locator(".m365-toggle-remove_licenses").click()
    shot(page, "exchange-offboard-switches")
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()

    wait_plan(page, "convert mailbox to shared")
    steps = page.locator(".m365-plan-steps .tabulator-row "
                         ".tabulator-cell[tabulator-field='action']").all_inner_texts()
    steps = [s.strip() for s in steps]
    assert "convert mailbox to shared" in steps and "remove licenses" in steps, steps
    assert steps.index("convert mailbox to shared") < steps.index("remove licenses"), steps
    assert "grant Full Access" in steps, steps
    grant = page.locator(".m365-plan-steps .tabulator-row", has_text="grant Full Access")
    expect(grant).to_contain_text(str(manager["display_name"]))
    shot(page, "exchange-offboard-plan")
    confirm_plan(page)
    expect(page.locator(".m365-alert-success").last).to_be_visible()
    assert not page.locator(".m365-alert-danger").count()

    # Exchange now keeps a shared mailbox, opened to the manager.
    box = emu.mailbox(tid, upn)
    assert box["RecipientTypeDetails"] == "SharedMailbox"
    assert [f["User"] for f in box["FullAccess"]] == [manager["user_principal_name"]]

    page = open_page(f"page=user&tenant={tid}&user={user['id']}")
    section = page.locator(".m365-mailbox")
    expect(section).to_contain_text("Shared mailbox", timeout=20_000)
    expect(section).to_contain_text(str(manager["user_principal_name"]))
    expect(section).to_contain_text(str(manager["display_name"]))
    expect(section).not_to_contain_text("SharedMailbox")
    shot(page, "exchange-user-page-shared")
