"""The header's light/dark switch: remembered by the browser (a cookie), tables follow."""
from __future__ import annotations

from playwright.sync_api import expect


def _row_background(page) -> str:
    cell = page.locator(".m365-users .tabulator-row .tabulator-cell").first
    return cell.evaluate("e => getComputedStyle(e).backgroundColor")


def test_browser_theme_switch_is_remembered_and_tables_follow(served, open_page, shot):
    page = open_page("page=users")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    light = _row_background(page)
    page.locator(".m365-theme-switch").click()               # stores "dark" and reloads
    page.locator(".m365-theme-dark").first.wait_for()
    page.locator(".m365-users .tabulator-row").first.wait_for()
    dark = _row_background(page)
    assert dark != light and dark not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert {"name": "m365_theme", "value": "dark"}.items() <= next(
        c for c in page.context.cookies() if c["name"] == "m365_theme").items()
    expect(page.locator(".m365-theme-switch")).to_contain_text("Light")
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"users-dark-{width}x{height}")
    page.goto(page.url.split("?")[0])                          # another page, same browser
    page.locator(".m365-card-users .m365-card-figure").wait_for()
    assert page.locator(".m365-theme-dark").count() >= 1
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"overview-dark-{width}x{height}")
    page.locator(".m365-theme-switch").click()               # and back
    page.locator(".m365-theme-light").first.wait_for()
    assert page.errors == []
