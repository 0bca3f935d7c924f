"""Every page at 1440x900 and 1280x800 reads as a technician needs it (issue #15): nothing cut
in the columns that must be read whole, headers in words (no Graph or Python names), no ISO
timestamps on screen, utilization as percentages, nothing loaded from outside this machine.

Each page's screenshot goes to test-artifacts/screenshots/<page>-<size>.png; with
M365DASH_UPDATE_SCREENSHOTS=1 also to docs/screenshots/ (the README shows them).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import SHOTS, off_machine
from .test_dashboard_behaviour import onboard

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = ((1440, 900), (1280, 800))
# Per page: the table and the columns a technician must read whole there.
KEY_COLUMNS = {
    "users": ("m365-users", ["tenant_name", "user_principal_name", "licenses_shown", "mailbox",
                             "last_sign_in", "offboard"]),
    "tenants": ("m365-tenants", ["tenant", "access_html", "last_sync"]),
    "licenses": ("m365-skus", ["tenant_name", "product_name", "enabled", "consumed",
                               "available", "utilization"]),
    "activity": ("m365-audit", ["time"]),
}
# A header spelt like code: camelCase (deviceName), snake_case (display_name) or an ISO time.
CODE_NAME = re.compile(r"^[a-z]+[A-Z][A-Za-z]*$|^[a-z0-9]+(_[a-z0-9]+)+$")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
VISIBLE_TEXT = ".tabulator-col-title, .tabulator-cell, h1, h2, h3, p, li, td, th, label"


def _open(chromium, network_log, base, query, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   timezone_id="Europe/Amsterdam")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("request", lambda r: network_log.append(r.url))
    page.goto(f"{base}/?{query}")
    page.wait_for_selector(".m365-main", timeout=45_000)
    return context, page


def _clipped(page, table: str, field: str) -> list[str]:
    """Texts of the column's visible cells that do not fit their cell."""
    return page.locator(f".{table} .tabulator-row .tabulator-cell[tabulator-field='{field}']") \
        .evaluate_all("cells => cells.filter(c => c.offsetParent !== null"
                      " && c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)")


@pytest.mark.parametrize("width,height", SIZES, ids=["1440x900", "1280x800"])
def test_every_page_readable_at_both_sizes(served, chromium, network_log, width, height):
    emu, m365, base = served
    tid = emu.tenant_ids[0]
    uid = str(m365.users(tid)["id"].iloc[3])
    # Activity has at least one entry to show.
    onboard(m365, tid, f"readable.{width}", given_name="Readable", surname=f"Check{width}")
    pages = {"overview": "", "tenants": "page=tenants", "users": "page=users",
             "licenses": "page=licenses", "create": f"page=create&tenant={tid}",
             "edit": f"page=edit&tenant={tid}&user={uid}",
             "user": f"page=user&tenant={tid}&user={uid}",
             "offboard": f"page=offboard&tenant={tid}&user={uid}",
             "bulk": "page=bulk", "activity": "page=activity"}
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, query in pages.items():
        context, page = _open(chromium, network_log, base, query, width, height)
        try:
            if name in KEY_COLUMNS:
                page.locator(f".{KEY_COLUMNS[name][0]} .tabulator-row").first.wait_for()
            page.wait_for_timeout(600)
            shot = SHOTS / f"{name}-{width}x{height}.png"
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("M365DASH_UPDATE_SCREENSHOTS") == "1":
                DOCS.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, DOCS / shot.name)
            headers = [h.strip() for h in
                       page.locator(".tabulator-col:visible .tabulator-col-title").all_inner_texts()]
            problems += [f"{name}: header {h!r} is a code name" for h in headers
                         if h and CODE_NAME.match(h)]
            texts = page.locator(VISIBLE_TEXT).all_inner_texts()
            problems += [f"{name}: ISO time on screen in {t[:60]!r}" for t in texts
                         if ISO_TIME.search(t)]
            if name in KEY_COLUMNS:
                table, fields = KEY_COLUMNS[name]
                for field in fields:
                    problems += [f"{name}: {field} cut: {t!r}" for t in _clipped(page, table, field)]
            if name == "licenses":
                shown = page.locator(".m365-skus .tabulator-cell[tabulator-field='utilization']") \
                    .all_inner_texts()
                assert shown, "the Licenses page lists SKUs"
                problems += [f"licenses: utilization {u!r} is not a percentage" for u in shown
                             if u.strip() and not re.fullmatch(r"\d+%", u.strip())]
        finally:
            context.close()
    assert problems == [], "\n".join(problems)
    assert off_machine(network_log) == []
