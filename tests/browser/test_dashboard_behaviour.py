"""What a technician sees: typed text kept, one Save for one edit, plans in view, no admin rights
left after offboarding, no actions on a deleted user, counts that match the rows, a URL that
follows the page (issue "Dashboard, part 1")."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.helpers import graph_all

from .test_user_lifecycle import confirm_plan, wait_plan


def onboard(m365, tid: str, username: str, **user) -> str:
    """A new user of tenant `tid` made through the services (its object id)."""
    domain = m365.domains(tid)["domain"].iloc[0]
    roles = user.pop("roles", [])
    groups = user.pop("groups", [])
    result = m365.plan_onboarding(tid, user={"given_name": user.pop("given_name", "Test"),
                                             "surname": user.pop("surname", username.title()),
                                             "username": username, "domain": domain,
                                             "usage_location": "US", **user},
                                  roles=roles, groups=groups).apply()
    assert result.ok, result.steps
    return result.user_id


# Panel renders into shadow roots, where innerText of the page stops: walk them.
_ALL_TEXT = """() => { const out = [];
  const walk = (node) => { for (const el of node.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      for (const c of el.childNodes) if (c.nodeType === 3 && c.textContent.trim()) out.push(c.textContent.trim()); } };
  walk(document); return out.join('\\n'); }"""


def page_text(page) -> str:
    """Every text node of the page, shadow roots included."""
    return page.evaluate(_ALL_TEXT)


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    view = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= view["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= view["width"]


def role_holders(emu, tid: str, user_id: str) -> list[dict]:
    return graph_all(emu, tid, "roleManagement/directory/roleAssignments",
                     **{"$filter": f"principalId eq '{user_id}'"})


def test_browser_search_typed_fast_keeps_every_key_and_finds_the_user(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[0]
    onboard(m365, tid, "ines.kumarasamy", given_name="Ines", surname="Kumarasamy")
    page = open_page("page=users")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    box = page.locator(".m365-search input")
    box.click()
    box.press_sequentially("kumarasamy", delay=30)
    page.locator(".m365-users .tabulator-row", has_text="Ines Kumarasamy").wait_for(timeout=5000)
    expect(box).to_have_value("kumarasamy")
    expect(page.locator(".m365-user-count")).to_have_text(re.compile(r"^1 of [\d,]+ users"))
    shot(page, "all-users-fast-search")


def test_browser_edit_saves_job_title_and_group_with_one_save(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    uid = onboard(m365, tid, "jo.oneplan", job_title="Analyst")
    group = m365.groups(tid).query("writable and not is_dynamic").iloc[0]
    page = open_page(f"page=edit&tenant={tid}&user={uid}")
    title = page.locator(".m365-field-job_title input")
    expect(title).to_have_value("Analyst")
    title.fill("Lead Analyst")
    title.press("Enter")
    page.locator(".m365-wizard-tabs .bk-tab", has_text="Groups").click()
    page.locator(".m365-group-choices label", has_text=group["display_name"]).first \
        .locator("input").check()
    page.locator(".m365-unsaved", has_text="user details, groups").wait_for()
    page.locator(".m365-groups-close button").click()
    wait_plan(page, "add to group")
    plan = page.locator(".m365-plan")
    expect(plan).to_contain_text("Lead Analyst")          # the job title is in the same plan
    shot(page, "edit-one-plan")
    confirm_plan(page)
    page.locator(".m365-users .tabulator-row").first.wait_for()
    user = m365.graph.tenant(tid).get(f"users/{uid}", params={"$select": "jobTitle"})
    assert user["jobTitle"] == "Lead Analyst"
    members = graph_all(emu, tid, f"groups/{group['id']}/members")
    assert uid in {m["id"] for m in members}


def test_browser_cancel_with_unsaved_changes_asks_first(served, open_page):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    uid = onboard(m365, tid, "kim.unsaved", department="Sales")
    page = open_page(f"page=edit&tenant={tid}&user={uid}")
    box = page.locator(".m365-field-department input")
    expect(box).to_have_value("Sales")
    box.fill("Legal")
    box.press("Enter")
    page.locator(".m365-nav-licenses").click()      # leaving the page...
    keep = page.locator(".m365-keep-editing button")
    keep.wait_for()                                        # ... asks first
    assert in_viewport(page, keep)
    keep.click()
    expect(box).to_have_value("Legal")
    page.locator(".m365-cancel button").click()
    page.locator(".m365-discard-changes button").click()
    page.locator(".m365-users .tabulator-row").first.wait_for()
    assert m365.resolve_user(tid, uid)["department"] == "Sales"


def test_browser_offboard_plan_appears_in_view_and_leaves_no_directory_role(served, open_page,
                                                                          shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[2]
    uid = onboard(m365, tid, "hal.helpdesk", roles=["Helpdesk Administrator"])
    assert role_holders(emu, tid, uid)
    page = open_page(f"page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-offboard-roles .tabulator-row", has_text="Helpdesk Administrator").wait_for()
    page.locator(".m365-toggle-remove_roles").click()
    page.locator(".m365-toggle-block_sign_in").click()
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.scroll_into_view_if_needed()                   # the bottom of a long page
    button.click()
    wait_plan(page, "remove role")
    confirm = page.locator(".m365-confirm button")
    assert in_viewport(page, confirm), confirm.bounding_box()
    expect(page.locator(".m365-plan")).to_contain_text("Helpdesk Administrator")
    shot(page, "offboard-plan-in-view")
    confirm_plan(page)
    assert role_holders(emu, tid, uid) == []


def test_browser_blocking_a_role_holder_warns_in_the_plan(served, open_page):
    emu, m365, _ = served
    tid = emu.tenant_ids[2]
    uid = onboard(m365, tid, "gus.globalreader", roles=["Global Reader"])
    page = open_page(f"page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-offboard-roles .tabulator-row", has_text="Global Reader").wait_for()
    page.locator(".m365-toggle-block_sign_in").click()
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()
    warning = page.locator(".m365-plan-warnings")
    warning.wait_for()
    expect(warning).to_contain_text("Remove directory roles")
    page.locator(".m365-back button").click()
    assert role_holders(emu, tid, uid)                      # nothing was applied


def test_browser_deleted_user_page_offers_no_offboard(served, open_page, shot):
    emu, m365, _ = served
    tid = emu.tenant_ids[0]
    uid = onboard(m365, tid, "dee.deleted")
    page = open_page(f"page=offboard&tenant={tid}&user={uid}")
    page.locator(".m365-toggle-delete").click()
    button = page.locator(".m365-offboard-button button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle())
    button.click()
    wait_plan(page, "delete user")
    confirm_plan(page)
    # After the delete the person is on All Users, told what happened.
    page.locator(".m365-users .tabulator-row").first.wait_for()
    expect(page.locator(".m365-alert-success").last).to_contain_text("dee.deleted")
    assert "page=users" in page.url
    # A link to the deleted user's page shows why it is empty and offers Restore, not Offboard.
    page = open_page(f"tenant={tid}&user={uid}")
    page.locator(".m365-open-restore button").wait_for()
    assert page.locator(".m365-offboard button").count() == 0 or \
        not page.locator(".m365-offboard button").is_visible()
    page.locator(".m365-alert-warning", has_text="not in the tenant any more").wait_for()
    text = page_text(page)
    assert "not in the tenant any more" in text
    assert "m365." not in text and uid not in text
    shot(page, "deleted-user-page")


def test_browser_user_count_equals_rows_left_by_a_header_filter(served, open_page):
    emu, m365, _ = served
    tid = emu.tenant_ids[0]
    page = open_page(f"page=users&tenant={tid}")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    users = m365.users(tid)
    in_tenant = len(users)
    expect(page.locator(".m365-user-count")).to_have_text(
        re.compile(rf"^{in_tenant:,} of {in_tenant:,} users"))
    department = str(users["department"].dropna().iloc[0])
    wanted = int(users["department"].astype(object).fillna("").astype(str).str.lower()
                 .str.contains(department.lower(), regex=False).sum())
    header = page.locator(".m365-users .tabulator-header-filter input").nth(3)
    header.click()
    header.press_sequentially(department, delay=40)
    expect(page.locator(".m365-user-count")).to_have_text(
        re.compile(rf"^{wanted:,} of {in_tenant:,} users"))
    expect(page.locator(".m365-users .tabulator-row")).to_have_count(min(wanted, 25))


def test_browser_url_follows_the_tenant_picker(served, open_page):
    emu, m365, _ = served
    tid = emu.tenant_ids[1]
    name = m365.tenants().set_index("tenant_id").loc[tid, "display_name"]
    page = open_page("page=users")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    page.locator("select").first.select_option(label=name)
    page.wait_for_url(re.compile(rf"tenant={tid}"))
    page.locator(".m365-nav-licenses").click()
    page.wait_for_url(re.compile(rf"page=licenses.*tenant={tid}|tenant={tid}.*page=licenses"))


def test_browser_overview_is_the_first_page_and_its_cards_open_their_pages(served, open_page,
                                                                          shot):
    from services.overview import overview
    _emu, m365, _ = served
    page = open_page("")
    users = page.locator(".m365-card-users .m365-card-figure")
    users.wait_for()
    figures = overview(m365)
    assert users.inner_text().replace(",", "") == str(figures.users)
    seats = page.locator(".m365-card-seats .m365-card-figure").inner_text()
    assert seats == f"{figures.seats_used:,} of {figures.seats_purchased:,}"
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"overview-{width}x{height}")
    page.locator(".m365-card-open-full").click()
    page.locator(".m365-skus .tabulator-row").first.wait_for()
    assert "page=licenses" in page.url


def test_browser_no_plan_dialog_shows_or_covers_the_page_until_asked(served, open_page):
    page = open_page("page=activity")
    page.locator(".m365-deleted .tabulator-row").first.wait_for()
    steps = page.locator(".m365-plan-steps")
    box = steps.bounding_box()
    assert box is None or box["y"] + box["height"] <= 0, box      # parked above the page
    assert not page.locator(".m365-confirm button").is_visible()


def test_browser_sorting_by_last_sign_in_puts_never_last_both_ways(served, open_page):
    page = open_page("page=users")
    page.locator(".m365-users .tabulator-row").first.wait_for()
    header = page.locator(".m365-users .tabulator-col[tabulator-field=last_sign_in] "
                          ".tabulator-col-title")
    cells = page.locator(".m365-users .tabulator-cell[tabulator-field=last_sign_in]")
    for _ in range(2):                                       # ascending, then descending
        header.click()
        page.wait_for_timeout(300)
        expect(cells.first).not_to_have_text("never")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", cells.first.inner_text())
