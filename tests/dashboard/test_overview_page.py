"""Overview page: the stored price table edited by admins, cards as one HTML component whose
links open pages in the session, and the page shell's sidebar links and light/dark switch."""
from __future__ import annotations

import panel as pn

from dashboard.app import DashboardSession
from dashboard.pages import Navigation
from dashboard.shell import shell, theme_from_cookies
from dashboard.viewmodels import OverviewViewModel
from dashboard.views import OverviewView
from dashboard.views.links import Links, link
from services import Actor


def _price(vm, sku: str) -> float:
    return float(vm.prices.set_index("sku_part_number").loc[sku, "monthly_price"])


def test_overview_price_edit_is_stored_for_every_session_and_costs_follow(make_vm):
    vm = make_vm(OverviewViewModel)
    vm.refresh()
    sku = str(vm.figures.idle["sku_part_number"].astype(str).value_counts().index[0])
    assert vm.set_price(sku, 99.0)
    assert _price(vm, sku) == 99.0 and "now costs $99.00" in vm.status
    held = vm.figures.idle[vm.figures.idle["sku_part_number"].astype(str) == sku]
    assert (held["monthly_price"] == 99.0).all()
    other = make_vm(OverviewViewModel)                    # another session reads the store
    other.refresh()
    assert _price(other, sku) == 99.0 and other.figures is vm.figures
    assert vm.m365.license_price_map()[sku] == 99.0


def test_overview_price_refused_says_why_and_a_later_success_clears_the_alert(make_vm):
    vm = make_vm(OverviewViewModel)
    vm.refresh()
    sku = str(vm.prices["sku_part_number"].iloc[0])
    before = _price(vm, sku)
    assert not vm.set_price(sku, -3)
    assert _price(vm, sku) == before
    assert vm.alerts[-1].kind == "warning" and "cannot be negative" in vm.alerts[-1].text
    assert vm.set_price(sku, 4.5)
    assert vm.alerts == []


def test_overview_price_a_technician_may_not_edit(make_world):
    _emu, m365 = make_world(actor=Actor("tess", "technician"))
    vm = OverviewViewModel(m365=m365)
    vm.refresh()
    view = OverviewView(vm, lambda *a: None, {"licenses": "Licenses", "tenants": "All Tenants",
                                              "users": "All Users", "activity": "Activity"})
    prices = view._layout.select(lambda o: "m365-prices" in (getattr(o, "css_classes", None) or []))
    assert prices and prices[0].disabled                    # the table is read-only
    sku = str(vm.prices["sku_part_number"].iloc[0])
    assert not vm.set_price(sku, 1.0)
    assert "Permission denied" in vm.alerts[-1].text


def test_overview_cards_are_one_component_whose_links_open_pages(make_vm):
    vm = make_vm(OverviewViewModel)
    vm.refresh()
    opened = []
    titles = {"licenses": "Licenses", "tenants": "All Tenants", "users": "All Users",
              "activity": "Activity"}
    view = OverviewView(vm, lambda *a: opened.append(a), titles)
    cards = view.cards
    assert isinstance(cards, Links)
    for key in ("tenants", "users", "seats", "full", "idle", "errors", "activity"):
        assert f"m365-card-{key}" in cards.object
    assert f"{vm.figures.users:,}</div>" in cards.object
    assert 'data-page="licenses"' in cards.object and "Open All Users" in cards.object
    cards.clicked = {"page": "users", "tenant": "", "user": "", "at": 1}
    assert opened == [("users", "", "")]
    # The tables come once the page has loaded (at once without a browser).
    assert view._layout.select(lambda o: "m365-idle" in (getattr(o, "css_classes", None) or []))


def test_overview_links_escape_what_they_show():
    text = link("<b>x</b>", "users", tenant='t"1', css_class="c")
    assert "<b>" not in text and "&lt;b&gt;" in text and 'data-tenant="t&quot;1"' in text


def test_shell_sidebar_is_one_component_that_lights_the_page_and_opens_others(make_world):
    emu, m365 = make_world(actor=Actor("ada", "admin"))
    session = DashboardSession(m365, Navigation(page="users", tenant=emu.tenant_ids[0]))
    session.template()
    nav = session.sidebar()
    assert isinstance(nav, Links)
    assert 'class="m365-nav m365-nav-users m365-nav-current"' in nav.object
    nav.clicked = {"page": "licenses", "tenant": "", "user": "", "at": 1}
    assert session.nav.page == "licenses" and session.nav.tenant == emu.tenant_ids[0]
    assert "m365-nav-licenses m365-nav-current" in nav.object
    nav.clicked = {"page": "tenants", "tenant": "", "user": "", "at": 2}
    assert session.nav.page == "tenants" and session.nav.tenant == ""


def test_shell_theme_comes_from_the_browsers_cookie_and_the_switch_offers_the_other():
    assert theme_from_cookies({}) == "light"
    assert theme_from_cookies({"m365_theme": "dark"}) == "dark"
    assert theme_from_cookies({"m365_theme": "<script>"}) == "light"
    for theme, offered in (("light", "dark"), ("dark", "light")):
        page = shell("T", pn.pane.Markdown("x"), None, theme=theme)
        header = page.objects[0].object
        assert f"m365_theme={offered}" in header and "m365-theme-switch" in header
        assert f"m365-theme-{theme}" in page.css_classes


def test_activity_csv_names_each_tenant_and_keeps_the_raw_json(make_vm, world):
    import csv
    import io
    import json

    from dashboard.viewmodels import ActivityViewModel
    emu, m365 = world
    m365.set_license_price(m365.licenses()["sku_part_number"].iloc[0], 2.0)
    m365.set_sync_enabled(emu.tenant_ids[0], True)
    vm = make_vm(ActivityViewModel)
    vm.refresh()
    rows = list(csv.DictReader(io.StringIO(vm.export_csv())))
    names = m365.tenants().set_index("tenant_id")["display_name"]
    synced = next(r for r in rows if r["action"] == "sync_settings")
    assert synced["tenant_name"] == names[emu.tenant_ids[0]]
    priced = next(r for r in rows if r["action"] == "license_price")
    assert json.loads(priced["detail"])["monthly_price"] == 2.0
    shown = vm.entries[vm.entries["action"] == "license_price"]["detail"].iloc[0]
    assert "$2.00 a month per seat" in shown
