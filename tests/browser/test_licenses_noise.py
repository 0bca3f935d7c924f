"""Switching tenant on the Licenses page: the SKU table shows the tenant's rows, colours exactly
the SKUs licenses() marks out of seats, keeps the chosen SKU chosen, and the browser console
stays quiet (Tabulator used to log "Find Error - No matching row found" dozens of times)."""
from __future__ import annotations

ROWS = ".m365-skus .tabulator-row"
COLOURED = """rows => rows
    .filter(r => Array.from(r.querySelectorAll('.tabulator-cell'))
        .some(c => c.style.backgroundColor !== ''))
    .map(r => r.querySelector("[tabulator-field='sku_part_number']").innerText)"""


def coloured(page) -> list[str]:
    """SKU part numbers of the table rows shown in the warning colour (rows live in Panel's
    shadow DOM, which Playwright's locators pierce)."""
    return sorted(page.locator(ROWS).evaluate_all(COLOURED))


def wait_for(page, check, what: str, timeout_ms: int = 15_000):
    for _ in range(timeout_ms // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} never happened within {timeout_ms / 1000:.0f} s")


def test_browser_licenses_tenant_switch_logs_no_tabulator_warnings(served, open_page, shot):
    emu, m365, _ = served
    licenses = m365.licenses()
    tenants = m365.tenants()
    page = open_page("page=licenses")
    page.locator(ROWS).first.wait_for()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    select = page.locator(".m365-licenses-tenant select")
    # every tenant, back to all (36 rows to 9 and back), then one row chosen before a switch
    for name in list(tenants["display_name"]) + ["All tenants"]:
        select.select_option(label=name)
        rows = licenses if name == "All tenants" else licenses[licenses["tenant_name"] == name]
        wait_for(page, lambda: page.locator(ROWS).count() == min(len(rows), 50), f"{name}'s rows")
        full = sorted(rows.loc[rows["out_of_seats"], "sku_part_number"].astype(str))
        wait_for(page, lambda: coloured(page) == full,
                 f"{name}'s out-of-seat SKUs {full} coloured")
    last = tenants["display_name"].iloc[-1]
    chosen = licenses[licenses["tenant_name"] == last].iloc[-1]
    page.locator(ROWS, has_text=last).filter(has_text=str(chosen["sku_part_number"])).first.click()
    page.locator(".m365-sku-users .tabulator-row").first.wait_for()
    select.select_option(label=last)
    wait_for(page, lambda: page.locator(ROWS).count() ==
             int((licenses["tenant_name"] == last).sum()), f"{last}'s rows")
    selected = page.locator(f"{ROWS}.tabulator-selected")
    wait_for(page, lambda: selected.count() == 1, "the chosen SKU selected")
    assert str(chosen["sku_part_number"]) in selected.inner_text()
    page.wait_for_timeout(1000)                  # late redraws would warn now
    shot(page, "licenses-after-tenant-switch")
    noise = [m for m in console if "No matching row" in m]
    assert noise == [], noise[:5]
    assert page.errors == []
