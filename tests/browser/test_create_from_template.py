"""Create User from an onboarding template in the browser: the picker fills the form, the names
are typed at a person's speed, Create User and Close shows the plan, and the new user has the
template's department and license (issue #16)."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from .test_user_lifecycle import confirm_plan, wait_plan

SCREENS = Path("/tmp/shots")


def _type(page, field: str, text: str) -> None:
    box = page.locator(f".m365-field-{field} input")
    box.click()
    box.press_sequentially(text, delay=30)
    box.press("Tab")                 # a TextInput sends its value on blur


def test_browser_create_user_from_template(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[0]
    skus = m365.licenses(tid)
    sku = skus[(skus["available"] > 0) & (skus["enabled"] < 1000)
               & (skus["capability_status"] == "Enabled")].iloc[0]
    domain = str(m365.domains(tid)["domain"].iloc[0])
    # Not the tenant's default: the other browser tests onboard in this tenant without one.
    m365.save_template(tid, "Front Desk", domain=domain, username_format="first.last",
                       usage_location="GB", department="Reception", company_name="Relecloud Ltd",
                       licenses=[str(sku["sku_part_number"])], groups=["Marketing"])

    page = open_page(f"page=create&tenant={tid}")
    picker = page.locator(".m365-template select")
    expect(picker.locator("option")).to_contain_text(["No template", "Front Desk"])
    picker.select_option(label="Front Desk")
    expect(page.locator(".m365-template-note")).to_contain_text("Front Desk")
    expect(page.locator(".m365-field-department input")).to_have_value("Reception")
    _type(page, "given_name", "Greta")
    _type(page, "surname", "Lindqvist")
    expect(page.locator(".m365-field-username input")).to_have_value("greta.lindqvist")
    expect(page.locator(".m365-field-display_name input")).to_have_value("Greta Lindqvist")

    SCREENS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENS / f"create-template-{width}.png"), full_page=True)
        shot(page, f"create-template-{width}x{height}")

    close = page.locator(".m365-details-close button")
    expect(close).to_have_text("Create User and Close")
    close.click()
    wait_plan(page, "create user")
    expect(page.locator(".m365-plan")).to_contain_text(str(sku["product_name"]))
    confirm_plan(page)
    # The generated password is shown once; the form closes when the technician says so.
    expect(page.locator(".m365-password-value")).to_have_text(re.compile(r"^\S{12,}$"))
    page.locator(".m365-secret-close button").click()
    page.locator(".m365-users .tabulator-row").first.wait_for()

    upn = f"greta.lindqvist@{domain}"
    user = m365.resolve_user(tid, upn)
    assert user["department"] == "Reception" and user["usage_location"] == "GB"
    held = m365.user_licenses(tid)
    assert str(sku["sku_part_number"]) in set(held[held["user_id"] == user["id"]]["sku_part_number"])
    assert "Marketing" in set(m365.user_groups(tid, user["id"])["display_name"])
    assert not page.errors
