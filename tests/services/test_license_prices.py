"""The license price table: stored, readable from the API, changed by admins only, audited."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from services import Actor, PermissionDenied
from services.overview import DEFAULT_PRICES, overview
from tests.helpers import emulated_world


@pytest.fixture(scope="module")
def m365(tmp_path_factory):
    with emulated_world(tmp_path_factory.mktemp("prices")) as (_emu, m365):
        yield m365


def test_license_prices_lists_every_sku_priced_from_the_defaults_until_set(m365):
    prices = m365.license_prices()
    assert list(prices.columns) == ["sku_part_number", "product_name", "monthly_price",
                                    "is_default", "updated", "updated_by"]
    skus = set(m365.licenses()["sku_part_number"].astype(str))
    assert skus <= set(prices["sku_part_number"])
    unset = prices[prices["is_default"]]
    assert (unset["monthly_price"] == unset["sku_part_number"].map(DEFAULT_PRICES).fillna(0.0)).all()
    assert unset["updated"].isna().all()


def test_license_prices_an_admin_sets_one_by_product_name_and_it_is_audited(m365):
    sku = m365.licenses().iloc[0]
    saved = m365.set_license_price(sku["product_name"], 17.25)
    assert saved["sku_part_number"] == sku["sku_part_number"] and saved["monthly_price"] == 17.25
    row = m365.license_prices().set_index("sku_part_number").loc[sku["sku_part_number"]]
    assert row["monthly_price"] == 17.25 and not row["is_default"]
    assert row["updated_by"] == m365.actor.name and row["updated"].tzinfo is not None
    assert m365.license_price_map()[sku["sku_part_number"]] == 17.25
    entry = m365.audit_log(action="license_price", limit=1).iloc[0]
    assert entry["outcome"] == "done" and entry["detail"]["monthly_price"] == 17.25
    assert entry["detail"]["before"] == DEFAULT_PRICES.get(sku["sku_part_number"])
    again = m365.set_license_price(sku["sku_part_number"], 18)
    assert again["before"] == 17.25                          # the stored price it replaced


def test_license_prices_the_overview_costs_idle_licenses_with_the_stored_prices(m365):
    now = pd.Timestamp("2026-12-01T12:00:00Z")
    idle = overview(m365, now=now).idle
    assert len(idle) > 0
    sku = idle["sku_part_number"].astype(str).value_counts().index[0]
    m365.set_license_price(sku, 5.0)
    f = overview(m365, now=now)
    held = f.idle[f.idle["sku_part_number"].astype(str) == sku]
    assert (held["monthly_price"] == 5.0).all()
    prices = m365.license_price_map()
    expected = sum(prices.get(str(s), 0.0) for s in f.idle["sku_part_number"])
    assert f.idle_monthly_cost == pytest.approx(expected)


def test_license_prices_a_technician_is_refused_and_the_refusal_audited(m365):
    tech = m365.as_actor(Actor("tess", "technician"))
    before = m365.license_prices()
    with pytest.raises(PermissionDenied):
        tech.set_license_price(before["sku_part_number"].iloc[0], 1.0)
    pd.testing.assert_frame_equal(m365.license_prices(), before)
    entry = m365.audit_log(action="license_price", limit=1).iloc[0]
    assert entry["outcome"] == "denied" and entry["actor"] == "tess"


@pytest.mark.parametrize("price", [-1, math.nan, math.inf, "lots", None, 1e9])
def test_license_prices_refuse_a_price_that_is_not_a_sane_number(m365, price):
    sku = m365.licenses()["sku_part_number"].iloc[0]
    before = m365.license_prices()
    with pytest.raises(ValueError):
        m365.set_license_price(sku, price)
    pd.testing.assert_frame_equal(m365.license_prices(), before)


def test_license_prices_refuse_an_unknown_product_name(m365):
    with pytest.raises(ValueError, match="not a SKU part number or product name"):
        m365.set_license_price("Microsoft 365 Imaginary", 3.0)
