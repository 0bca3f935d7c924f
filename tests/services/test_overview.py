"""Overview figures agree with the listings they summarise."""
from __future__ import annotations

import pandas as pd
import pytest

from services.licensing import sold_by_the_thousand
from services.overview import idle_frame, idle_licenses, overview
from tests.helpers import emulated_world


@pytest.fixture(scope="module")
def m365(tmp_path_factory):
    with emulated_world(tmp_path_factory.mktemp("overview")) as (_emu, m365):
        yield m365


def test_overview_figures_equal_the_listings(m365):
    prices = {"ENTERPRISEPACK": 23.0, "SPB": 22.0}
    now = pd.Timestamp("2026-12-01T12:00:00Z")
    f = overview(m365, prices, now=now)
    tenants, licenses = m365.tenants(), m365.licenses()
    held, users = m365.user_licenses(), m365.users()
    assert f.tenants == len(tenants) and f.users == tenants["users"].sum() == len(users)
    assert f.licensed_users == tenants["licensed_users"].sum()
    assert f.licensed_users == held["user_id"].nunique()
    paid = licenses[licenses["enabled"] < 1000]
    assert (f.seats_purchased, f.seats_used) == (paid["enabled"].sum(), paid["consumed"].sum())
    assert f.seats_purchased < licenses["enabled"].sum()      # the free SKUs are left out
    assert len(f.full_skus) == tenants["skus_out_of_seats"].sum() == licenses["out_of_seats"].sum()
    # Idle: a disabled account, or no sign-in for 90 days (never counts), as the notebook does.
    account = users.set_index(["tenant_id", "id"])
    expected = 0
    cost = 0.0
    for row in held.itertuples():
        user = account.loc[(row.tenant_id, row.user_id)]
        quiet = pd.isna(user["last_sign_in"]) or (now - user["last_sign_in"]).days > 90
        if user["account_enabled"] is False or bool(user["account_enabled"]) is False or quiet:
            expected += 1
            cost += prices.get(row.sku_part_number, 0.0)
    assert f.idle_licenses == expected > 0
    assert f.idle_monthly_cost == pytest.approx(cost)


def test_overview_idle_licenses_says_why(m365):
    rows = idle_licenses(m365.users(), m365.user_licenses(), days=90,
                         now=pd.Timestamp("2026-12-01T12:00:00Z"))
    assert set(rows["why"]) <= {"disabled account", "no sign-in for 90 days"}
    assert not sold_by_the_thousand(pd.Series([999])).any()


def test_overview_idle_query_equals_the_rule_on_the_listings(m365):
    """The one-query idle rows (services.store.idle) are exactly idle_licenses() applied to
    users() and user_licenses(), across the 90-day boundary and with a tenant left out."""
    now = pd.Timestamp("2026-12-01T12:00:00Z")
    users, held = m365.users(), m365.user_licenses()
    for exclude in ([], [str(users["tenant_id"].iloc[0])]):
        for days in (30, 90):
            ref = idle_licenses(users, held, days=days, now=now, exclude_tenants=exclude)
            got = idle_frame(m365, days=days, now=now, exclude_tenants=exclude, prices={})
            key = ["tenant_id", "user_id", "sku_part_number", "why"]
            want = ref[key].astype(str).sort_values(key).reset_index(drop=True)
            have = got[key].astype(str).sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(have, want)
            assert (got["monthly_price"] == 0.0).all()


def test_overview_figures_need_no_listing_of_every_user(m365, monkeypatch):
    """The Overview reads aggregates and the idle rows, never users() or user_licenses()."""
    def refuse(*_a, **_k):
        raise AssertionError("overview() read a whole listing")
    monkeypatch.setattr(type(m365), "users", refuse)
    monkeypatch.setattr(type(m365), "user_licenses", refuse)
    assert overview(m365).users > 0
