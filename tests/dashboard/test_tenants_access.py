"""All Tenants' Access column and Overview's idle-license exclusions, driven through the view
models against an emulator with its access traps on (docs/ACCESS.md): customer 2 lacks
AuditLog.Read.All, customer 3 has no Entra ID P1, customer 4 has no consent (AADSTS65001)."""
from __future__ import annotations

import pytest

from dashboard.viewmodels import OverviewViewModel, TenantsViewModel
from dashboard.viewmodels.overview import idle_excluded_text
from dashboard.viewmodels.tenants import access_words
from dashboard.views.tenants import access_html
from emulator.access import ALL_PERMISSIONS
from services import access as A
from tests.helpers import emulated_world, run

MISSING, NO_P1, NO_CONSENT = "missing AuditLog.Read.All", "no Entra ID P1", "no consent (AADSTS65001)"


@pytest.fixture(scope="module")
def trapped(tmp_path_factory):
    """(emulator, m365): 4 tenants x 12 users with the access traps on, synced once. The shared
    `world` of conftest.py cannot set traps, so this module has its own."""
    with emulated_world(tmp_path_factory.mktemp("tenants-access"), tenants=4, users=12,
                        access_traps=True) as world:
        yield world


def trap(emu, label: str) -> str:
    return next(tid for tid, name in emu.traps.items() if name == label)


@pytest.fixture
def rows(trapped):
    """The All Tenants view model's rows, refreshed from the store, by tenant id."""
    _emu, m365 = trapped
    vm = TenantsViewModel(m365=m365)
    vm.refresh()
    return vm.frame.set_index("tenant_id")


def test_access_words_name_each_status():
    assert access_words("ready") == "Ready"
    assert access_words("missing permissions", "AuditLog.Read.All") == "Missing 1 permission"
    assert access_words("missing permissions", "A.Read.All; B.Read.All; "
                        "User Administrator (directory role)") == \
        "Missing 2 permissions and 1 directory role"
    assert access_words("no consent") == "No consent"
    assert access_words("relationship expired") == "Relationship expired"
    assert access_words(None) == "Not checked"


def test_tenants_access_ready_tenant_says_ready_with_nothing_to_fix(trapped, rows):
    emu, _ = trapped
    row = rows.loc[emu.tenant_ids[0]]
    assert row["access_words"] == "Ready"
    assert row["access_fix"] == "" and row["access_off"] == ""


def test_tenants_access_missing_permission_names_it_and_the_features_it_switches_off(trapped,
                                                                                    rows):
    emu, _ = trapped
    row = rows.loc[trap(emu, MISSING)]
    assert row["access_words"] == "Missing 1 permission"
    assert row["missing_permissions"] == "AuditLog.Read.All"
    assert row["access_off"] == "last sign-in and recent sign-ins (needs AuditLog.Read.All)"
    assert row["access_fix"] == A.FIX[A.MISSING]
    cell = access_html(row.to_dict())
    assert "AuditLog.Read.All" in cell and "last sign-in and recent sign-ins" in cell
    assert f'href="{row["consent_url"]}"' in cell         # consent again, once it is added


def test_tenants_access_no_consent_offers_the_tenants_consent_link(trapped, rows):
    emu, _ = trapped
    tid = trap(emu, NO_CONSENT)
    row = rows.loc[tid]
    assert row["access_words"] == "No consent"
    assert row["access_fix"] == A.FIX[A.NO_CONSENT]
    assert row["access_off"] == "everything"
    assert row["consent_url"].endswith(f"/{tid}/adminconsent?client_id={emu.client_id}")
    cell = access_html(row.to_dict())
    assert "Grant consent" in cell and 'target="_blank"' in cell
    assert f'href="{row["consent_url"]}"' in cell
    assert "AADSTS65001" in cell                          # Entra's words, in the tooltip


def test_tenants_access_tenant_without_entra_p1_is_ready_without_last_sign_in(trapped, rows):
    emu, _ = trapped
    row = rows.loc[trap(emu, NO_P1)]
    assert row["access_words"] == "Ready"
    assert row["access_off"] == "last sign-in and recent sign-ins (needs Entra ID P1)"
    assert "needs Entra ID P1" in access_html(row.to_dict())


def test_tenants_check_access_reports_each_status_and_refreshes(trapped):
    emu, m365 = trapped
    vm = TenantsViewModel(m365=m365)
    vm.refresh()
    busy, changed = [], []
    vm.param.watch(lambda e: busy.append(e.new), "busy")
    vm.param.watch(lambda e: changed.append(True), "changed")
    emu.set_access(emu.tenant_ids[0], withdraw=["MailboxSettings.ReadWrite"])
    try:
        run(vm.check_access())
        row = vm.frame.set_index("tenant_id").loc[emu.tenant_ids[0]]
        assert row["access_words"] == "Missing 1 permission"
        assert row["missing_permissions"] == "MailboxSettings.ReadWrite"
        assert "automatic replies" in row["access_off"]
    finally:
        emu.set_access(emu.tenant_ids[0], granted=ALL_PERMISSIONS)
        m365.check_access(emu.tenant_ids[0])
    assert busy == [True, False] and changed
    summary = vm.alerts[0]
    assert summary.kind == "warning" and summary.text.startswith("Checked access in ")
    assert "1 no consent" in summary.text and "2 missing 1 permission" in summary.text
    assert "The Access column says how to fix each." in summary.text


def test_overview_idle_card_says_which_tenants_it_leaves_out_and_why(trapped):
    emu, m365 = trapped
    vm = OverviewViewModel(m365=m365)
    vm.refresh()
    names = m365.tenants().set_index("tenant_id")["display_name"]
    excluded = vm.figures.idle_excluded.set_index("tenant_id")["reason"].to_dict()
    assert set(excluded) == {trap(emu, MISSING), trap(emu, NO_P1), trap(emu, NO_CONSENT)}
    text = idle_excluded_text(vm.figures.idle_excluded)
    assert text.startswith("excludes ")
    assert f"{names[trap(emu, NO_P1)]} (needs Entra ID P1)" in text
    assert f"{names[trap(emu, MISSING)]} (needs AuditLog.Read.All)" in text
    assert f"{names[trap(emu, NO_CONSENT)]} (no consent)" in text
    assert names[emu.tenant_ids[0]] not in text
    note = vm.idle_excluded_note()
    assert note.startswith("No sign-in for 90 days excludes ") and "disabled accounts count" in note
    assert "not available" not in note                    # no raw column values


def test_overview_sync_errors_card_points_a_no_consent_tenant_to_its_fix(trapped):
    emu, m365 = trapped
    vm = OverviewViewModel(m365=m365)
    vm.refresh()
    name = m365.tenants().set_index("tenant_id").loc[trap(emu, NO_CONSENT), "display_name"]
    assert f"{name}: no consent, see Access on All Tenants for the fix" in vm.sync_error_lines()
    assert all("AADSTS" not in line and len(line) < 250 for line in vm.sync_error_lines())


def test_tenants_access_cell_says_how_to_fix_a_missing_role_and_an_ended_relationship():
    role = access_html({"access": "missing permissions", "consent_url": "https://login.example/c",
                        "access_words": access_words("missing permissions",
                                                     "User Administrator (directory role)"),
                        "missing_permissions": "User Administrator (directory role)"})
    assert "Missing 1 directory role" in role and "Assign the role to the app in Entra" in role
    assert "grant consent again" not in role          # consent does not give a role
    expired = access_html({"access": "relationship expired", "access_fix": A.FIX[A.EXPIRED],
                           "access_words": access_words("relationship expired")})
    assert "Relationship expired" in expired and "Renew the GDAP relationship in Partner Center" \
        in expired
