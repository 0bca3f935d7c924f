"""The license rules of services.licensing, each with one home: out of seats (per SKU, per
frame, as the licenses() column and the tenants() count), why a SKU cannot be assigned (the
plan problem says it in the same words), and the 1,000-seat line of free SKUs."""
from __future__ import annotations

import itertools

import pandas as pd
import pytest

from services import licensing as LIC
from services.discovery import DiscoveredTenant
from services.store import Store
from services.store import listings as L
from services.store import rows as R
from services.workflows.onboarding import display_name_from, upn_from
from services.workflows.resolve import TenantFacts
from services.workflows.validation import license_requests, seat_problem
from tests.services.test_store import full_snapshot, graph_user, read

VISIO = "c5928f49-12ba-48f7-ada3-0d743a3601d5"      # Visio Plan 2: suspended, still has users
FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"       # Power Automate Free: 10,000 seats


# ---- out of seats --------------------------------------------------------------------------

@pytest.mark.parametrize("enabled, consumed, status, full", [
    (10, 3, "Enabled", False),
    (10, 10, "Enabled", True),          # every seat used
    (28, 29, "Enabled", True),          # subscription shrank below its users
    (0, 0, "Enabled", False),           # nothing bought, nobody on it: nothing to warn about
    (0, 2, "Enabled", True),            # users on a SKU with no seats
    (100, 1, "Warning", False),         # grace period: still assignable
    (0, 2, "Suspended", True),          # Graph moved the seats to `suspended`; users remain
    (5, 1, "Suspended", True),          # seats bought but none can be assigned
    (0, 0, "Suspended", False),         # a lapsed trial with nobody on it
    (3, 1, "LockedOut", True),
    (3, 1, "Deleted", True),
    (3, 1, None, False),                # no status: an active subscription
])
def test_out_of_seats_rule(enabled, consumed, status, full):
    assert LIC.out_of_seats(enabled, consumed, status) is full


def test_out_of_seats_frame_agrees_with_the_rule_row_by_row():
    grid = list(itertools.product([0, 1, 5, 1000], [0, 1, 5, 7],
                                  ["Enabled", "Warning", "Suspended", "LockedOut", "Deleted", None]))
    df = pd.DataFrame(grid, columns=["enabled", "consumed", "capability_status"])
    df = df.astype({"enabled": "Int64", "consumed": "Int64", "capability_status": "category"})
    got = LIC.out_of_seats_frame(df)
    assert got.dtype == bool and list(got.index) == list(df.index)
    assert got.tolist() == [LIC.out_of_seats(e, c, s) for e, c, s in grid]


def test_out_of_seats_frame_of_an_empty_frame_is_an_empty_bool_series():
    empty = pd.DataFrame(columns=["enabled", "consumed", "capability_status"])
    assert LIC.out_of_seats_frame(empty).dtype == bool and LIC.out_of_seats_frame(empty).empty


def test_sold_by_the_thousand_marks_free_and_viral_skus():
    assert LIC.sold_by_the_thousand(1000) and LIC.sold_by_the_thousand(10_000)
    assert not LIC.sold_by_the_thousand(999) and not LIC.sold_by_the_thousand(None)
    seats = pd.Series([5, 1000, None], dtype="Int64")
    assert LIC.sold_by_the_thousand(seats).tolist() == [False, True, False]


# ---- why a SKU cannot be assigned ----------------------------------------------------------

def test_assign_refusal_says_why_in_msp_words():
    assert LIC.assign_refusal({"capability_status": "Enabled", "enabled": 10, "consumed": 3}) is None
    assert LIC.assign_refusal({"capability_status": "Warning", "enabled": 10, "consumed": 3}) is None
    assert LIC.assign_refusal({"capability_status": "Enabled", "enabled": 10, "consumed": 12,
                               "available": -2}) == \
        "no seats left (12 of 10 used): buy or free a seat"
    assert LIC.assign_refusal({"capability_status": "Suspended", "enabled": 0, "consumed": 2}) == \
        "subscription is Suspended: cannot be assigned until it is active again"
    assert "LockedOut" in LIC.assign_refusal(LIC.sku_row({"capabilityStatus": "LockedOut"}))
    assert "only 1 seats left" in LIC.assign_refusal({"enabled": 3, "consumed": 2}, seats_needed=2)


def test_assign_refusal_refuses_every_sku_that_is_out_of_seats():
    for enabled, consumed, status in itertools.product(
            [0, 1, 5], [0, 1, 5, 6], ["Enabled", "Warning", "Suspended", "LockedOut", None]):
        row = {"enabled": enabled, "consumed": consumed, "capability_status": status}
        if LIC.out_of_seats(enabled, consumed, status):
            assert LIC.assign_refusal(row), row
        if LIC.assign_refusal(row) is None:
            assert not LIC.out_of_seats(enabled, consumed, status), row


def test_seat_problem_is_the_product_name_and_the_refusal():
    facts = TenantFacts("tid")
    facts.skus = {VISIO: {"skuId": VISIO, "skuPartNumber": "VISIOCLIENT",
                          "capabilityStatus": "Suspended", "consumedUnits": 2,
                          "prepaidUnits": {"enabled": 0, "suspended": 4}}}
    refusal = LIC.assign_refusal(facts.sku_row(VISIO))
    assert seat_problem(facts, VISIO) == f"{facts.sku_name(VISIO)}: {refusal}"
    _wanted, problems = license_requests(facts, ["VISIOCLIENT"])
    assert [p.message for p in problems] == [f"{facts.sku_name(VISIO)}: {refusal}"]


# ---- the store: one column, one count --------------------------------------------------------

@pytest.fixture
def store(store_url):
    s = Store(store_url)
    s.save_discovered([DiscoveredTenant("t1", "Contoso", None, "gdap"),
                       DiscoveredTenant("t2", "Fabrikam", None, "gdap")])
    yield s
    s.close()


def _with_suspended_visio(tid="t1", name="Contoso"):
    snap = full_snapshot(tid, name, users=[graph_user("u1", f"a@{tid}.com", licenses=[VISIO]),
                                           graph_user("u2", f"b@{tid}.com", licenses=[VISIO]),
                                           graph_user("u3", f"c@{tid}.com")])
    snap.skus.append(R.sku_row(tid, {"skuId": VISIO, "skuPartNumber": "VISIOCLIENT",
                                     "capabilityStatus": "Suspended", "consumedUnits": 2,
                                     "prepaidUnits": {"enabled": 0, "suspended": 4}}))
    snap.skus.append(R.sku_row(tid, {"skuId": FREE, "skuPartNumber": "FLOW_FREE",
                                     "capabilityStatus": "Enabled", "consumedUnits": 3,
                                     "prepaidUnits": {"enabled": 10000}}))
    return snap


def test_licenses_out_of_seats_column_follows_the_documented_columns(store):
    store.write(_with_suspended_visio())
    df = read(store, L.licenses)
    assert list(df.columns[:len(L.LICENSES)]) == L.LICENSES
    assert df.columns[len(L.LICENSES)] == "out_of_seats" and df["out_of_seats"].dtype == bool
    assert df["out_of_seats"].tolist() == LIC.out_of_seats_frame(df).tolist()


def test_licenses_suspended_sku_with_users_is_out_of_seats_and_counted_in_tenants(store):
    store.write(_with_suspended_visio())
    lic = read(store, L.licenses).set_index("sku_part_number")
    assert lic.loc["VISIOCLIENT", "out_of_seats"]             # suspended, 2 users still on it
    assert lic.loc["SPB", "out_of_seats"]                     # 3 used of 2 bought
    assert not lic.loc["BRAND_NEW", "out_of_seats"]           # suspended, nobody on it
    assert not lic.loc["SPE_E3", "out_of_seats"] and not lic.loc["FLOW_FREE", "out_of_seats"]
    t1 = read(store, L.tenants).set_index("tenant_id").loc["t1"]
    assert t1["skus_out_of_seats"] == 2


def test_tenants_skus_out_of_seats_counts_exactly_the_licenses_rows_marked(store):
    store.write(_with_suspended_visio())
    store.write(full_snapshot("t2", "Fabrikam", users=[graph_user("v1", "v@f.com")]))
    lic = read(store, L.licenses)
    marked = lic[lic["out_of_seats"]].groupby("tenant_id", observed=True).size()
    tenants = read(store, L.tenants).set_index("tenant_id")
    for tid, row in tenants.iterrows():
        assert row["skus_out_of_seats"] == marked.get(tid, 0), tid
        seats = lic[lic["tenant_id"] == tid]
        assert (row["seats_total"], row["seats_consumed"]) == \
            (seats["enabled"].sum(), seats["consumed"].sum())


def test_tenants_never_synced_tenant_has_no_seat_figures(store):
    store.write(_with_suspended_visio())
    t2 = read(store, L.tenants, ["t2"]).iloc[0]
    assert pd.isna(t2["skus_out_of_seats"]) and pd.isna(t2["seats_total"])


# ---- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("given, surname, shown", [
    ("Jane", "Doe", "Jane Doe"), ("  Jane ", " Doe  ", "Jane Doe"), ("Jane", "", "Jane"),
    ("", "Doe", "Doe"), ("", " ", ""), (None, None, ""), ("Zoë", "O'Neil-Ström", "Zoë O'Neil-Ström")])
def test_display_name_from_first_and_last_name(given, surname, shown):
    assert display_name_from(given, surname) == shown


@pytest.mark.parametrize("username, domain, upn", [
    ("jane.doe", "contoso.com", "jane.doe@contoso.com"),
    (" jane.doe ", " @contoso.com ", "jane.doe@contoso.com"),
    ("jane.doe@contoso.com", "", "jane.doe@contoso.com"),     # a full UPN typed as the user name
    ("jane.doe", "", ""), ("", "contoso.com", ""), (None, None, ""),
])
def test_upn_from_username_and_domain(username, domain, upn):
    assert upn_from(username, domain) == upn


def test_over_allocated_frame_marks_only_more_used_than_bought():
    import pandas as pd
    from services.licensing import over_allocated_frame
    frame = pd.DataFrame({"enabled": [28, 7, 10, 0], "consumed": [29, 7, 3, 2]})
    assert over_allocated_frame(frame).tolist() == [True, False, False, True]
