"""Schedule an offboarding from a user's Offboard page, find it on Activity, cancel it there
(issue #16: "schedule an offboarding and cancel it from Activity")."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from .test_dashboard_behaviour import in_viewport, onboard, page_text
from .test_user_lifecycle import confirm_plan, wait_plan

SCREENSHOTS = Path("/tmp/shots")


def pick_offboard_at(page, day: int = 15, hour: int = 17, minute: int = 0) -> datetime:
    """Type "Offboard at" as a technician does (the 15th of next month, 17:00) and press Enter.
    Returns the time typed, in the browser's time zone."""
    zone = ZoneInfo(page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") or "UTC")
    now = datetime.now(zone)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    picked = datetime(year, month, day, hour, minute, tzinfo=zone)
    box = page.locator(".m365-offboard-at input.flatpickr-input")
    box.click()
    box.press_sequentially(f"{picked:%Y-%m-%d %H:%M}", delay=30)
    box.press("Enter")
    calendar = page.locator(".m365-offboard-at .flatpickr-calendar.open")
    if calendar.count():
        page.locator(".m365-toggle-block_sign_in").hover()
        page.mouse.click(5, 5)              # a click outside closes the calendar
    expect(calendar).to_have_count(0)
    return picked


def test_browser_schedule_offboarding_then_cancel_it_from_activity(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    uid = onboard(m365, tid, "fri.five", given_name="Friday", surname="Five")
    upn = str(m365.resolve_user(tid, uid)["user_principal_name"])
    page = open_page(f"page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-toggle-block_sign_in").click()
    picked = pick_offboard_at(page)
    expect(page.locator(".m365-offboard-at input.flatpickr-input")).to_have_value(
        f"{picked:%Y-%m-%d %H:%M}:00")
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()
    wait_plan(page, "block sign-in")
    confirm_plan(page)
    # The page says it is scheduled, not done.
    page.locator(".m365-alert-success", has_text="Scheduled").wait_for()
    job = m365.scheduled_jobs(tid).set_index("user").loc[upn]
    assert job["status"] == "scheduled"
    assert job["at"].to_pydatetime() == picked.astimezone(timezone.utc)

    # Activity lists it, in words, with Cancel.
    page.locator(".m365-nav-activity").click()
    row = page.locator(".m365-scheduled .tabulator-row", has_text=upn)
    row.wait_for()
    expect(row).to_contain_text("Friday Five")
    expect(row).to_contain_text(f"{picked.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    expect(row).to_contain_text("Block sign-in")
    expect(row).to_contain_text("Waiting")
    headers = page.locator(".m365-scheduled .tabulator-col:visible .tabulator-col-title") \
        .all_inner_texts()
    assert [h.strip() for h in headers if h.strip()] == [
        "User", "Tenant", "Steps", "When", "Scheduled by", "Status", "Outcome", "Late"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        cancel = row.locator(".tabulator-cell[tabulator-field=cancel] button")
        page.screenshot(path=str(SCREENSHOTS / f"activity-scheduled-{width}.png"))
        assert in_viewport(page, cancel), (width, cancel.bounding_box())
        shot(page, f"activity-scheduled-{width}x{height}")

    row.locator(".tabulator-cell[tabulator-field=cancel] button").click()
    confirm = page.locator(".m365-confirm-cancel button")
    confirm.wait_for(state="visible")
    assert in_viewport(page, confirm), confirm.bounding_box()
    expect(page.locator(".m365-cancel-question")).to_contain_text("Friday Five")
    page.screenshot(path=str(SCREENSHOTS / "activity-cancel-confirm-1280.png"))
    assert m365.scheduled_jobs(tid).set_index("user").loc[upn, "status"] == "scheduled"
    confirm.click()
    expect(page.locator(".m365-alert-success").last).to_contain_text("Cancelled the offboarding "
                                                                       "of Friday Five")
    expect(row).to_contain_text("Cancelled")
    expect(row.locator(".tabulator-cell[tabulator-field=cancel] button")).to_have_count(0)
    assert not page.locator(".m365-confirm-cancel button").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "activity-cancelled-1280.png"))
    assert m365.scheduled_jobs(tid).set_index("user").loc[upn, "status"] == "cancelled"
    assert "m365." not in page_text(page)


def test_browser_offboard_at_is_read_in_the_viewers_time_zone(served, chromium):
    emu, m365, base = served
    tid = emu.tenant_ids[0]
    uid = str(m365.users(tid)["id"].iloc[4])
    context = chromium.new_context(viewport={"width": 1440, "height": 900},
                                   timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.goto(f"{base}/?page=offboard&tenant={tid}&user={uid}")
        page.get_by_text("Your time zone: America/New_York").wait_for(timeout=20_000)
    finally:
        context.close()
