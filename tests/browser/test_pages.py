"""Every page opens in a real browser, loads nothing from the internet, and lists what it should."""
from __future__ import annotations

from .conftest import off_machine


def rows(page, table_class: str):
    return page.locator(f".{table_class} .tabulator-row")


def box(page, locator, timeout_s: float = 15.0) -> dict:
    """The element's box once it is laid out: Tabulator redraws its rows after sizing the
    columns, and during a redraw Playwright reports no box (seen once in CI)."""
    for _ in range(int(timeout_s * 10)):
        found = locator.bounding_box()
        if found is not None and found["width"] > 0:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"{locator} was never laid out on the page within {timeout_s} s")


def test_browser_all_tenants_lists_tenants_with_portal_links(served, open_page, shot):
    emu, m365, _ = served
    page = open_page("page=tenants")
    names = list(m365.tenants()["display_name"])
    for name in names:
        page.locator(".m365-tenants .tabulator-row", has_text=name).wait_for()
    assert rows(page, "m365-tenants").count() == len(names)
    link = page.locator(".m365-tenants a[title='Microsoft 365 admin']").first
    assert link.get_attribute("href").startswith("https://admin.microsoft.com/?tenantId=")
    # Every column fits the page, the row's last action included: nothing hides behind a
    # sideways scroll.
    holder = box(page, page.locator(".m365-tenants .tabulator-tableholder"))
    sync = box(page, page.locator(".m365-tenants .tabulator-row button", has_text="Sync now").first)
    assert sync["x"] + sync["width"] <= holder["x"] + holder["width"]
    shot(page, "all-tenants")
    assert page.errors == []


def test_browser_all_users_for_one_tenant_filters_by_name(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[0]
    users = m365.users(tid)
    page = open_page(f"page=users&tenant={tid}")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    page.locator(".m365-user-count", has_text=f"{len(users)} of").wait_for()
    target = users["display_name"].iloc[7]
    page.locator(".m365-search input").fill(target.split()[1])
    page.locator(".m365-users .tabulator-row", has_text=target).wait_for()
    expected = users["display_name"].str.contains(target.split()[1], case=False).sum() + \
        (~users["display_name"].str.contains(target.split()[1], case=False)
         & users["user_principal_name"].str.contains(target.split()[1], case=False)).sum()
    page.locator(".m365-user-count", has_text=f"{expected} of").wait_for()
    shot(page, "all-users-filtered")


def test_browser_pages_load_nothing_from_the_internet(served, open_page, shot, network_log):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    uid = m365.users(tid)["id"].iloc[2]
    for query, name in ((f"tenant={tid}&user={uid}", "user-details"), ("page=licenses", "licenses"),
                        ("page=bulk", "bulk"), ("page=activity", "activity"),
                        (f"page=offboard&tenant={tid}&user={uid}", "offboard")):
        page = open_page(query)
        page.wait_for_timeout(800)
        shot(page, name)
        assert page.errors == [], (name, page.errors)
    assert any(u.endswith(".js") for u in network_log)     # the log did see the resources
    assert off_machine(network_log) == []
