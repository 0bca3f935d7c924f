"""Access per tenant against the emulator with its access traps on: a tenant lacking
AuditLog.Read.All, one without Entra ID P1, one without consent (AADSTS65001), plus a tenant
whose app lacks RoleManagement.ReadWrite.Directory (withdrawn here), whose role assignments must
be refused before anything is written."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from cli import main
from emulator import Emulator
from emulator.access import ALL_PERMISSIONS
from services import Actor, connect
from services.overview import overview
from services.workflows import PlanHasProblems

HELPDESK = "Helpdesk Administrator"


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=5, users_per_tenant=20, seed=31, groups_per_tenant=6, access_traps=True,
                  state_dir=tmp_path_factory.mktemp("access-emu")) as emulator:
        # The last customer keeps its consent but loses the permission that assigns roles.
        emulator.set_access(emulator.tenant_ids[-1], withdraw=["RoleManagement.ReadWrite.Directory"])
        yield emulator


def trap(emu, label: str) -> str:
    return next(tid for tid, name in emu.traps.items() if name == label)


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path, actor=Actor("access-tests@msp.example", "admin"))
    client.sync(progress=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def rows(m365):
    return m365.tenants().set_index("tenant_id")


def test_access_every_status_shows_in_tenants(emu, rows):
    by_tenant = rows["access"].to_dict()
    assert by_tenant[emu.tenant_ids[0]] == "ready"
    assert by_tenant[trap(emu, "missing AuditLog.Read.All")] == "missing permissions"
    assert by_tenant[trap(emu, "no Entra ID P1")] == "ready"
    assert by_tenant[trap(emu, "no consent (AADSTS65001)")] == "no consent"
    assert by_tenant[emu.tenant_ids[-1]] == "missing permissions"


def test_access_missing_permission_and_its_switched_off_features_in_tenants(emu, m365, rows):
    tid = trap(emu, "missing AuditLog.Read.All")
    row = rows.loc[tid]
    assert row["missing_permissions"] == "AuditLog.Read.All"
    assert "last sign-in and recent sign-ins (needs AuditLog.Read.All)" in row["features_off"]
    assert row["last_sign_in_note"] == "not available (needs AuditLog.Read.All)"
    assert "AuditLog.Read.All" not in row["granted_permissions"]
    assert row["app_roles"] == "Exchange Administrator; User Administrator"
    # Everything else synced.
    assert row["users"] == 20 and row["groups"] > 0 and row["seats_total"] > 0
    assert m365.users(tid)["last_sign_in"].isna().all()
    refusal = m365.feature_refusal(tid, "last_sign_in")
    assert "AuditLog.Read.All" in refusal and f"/{tid}/adminconsent?client_id={emu.client_id}" in refusal
    assert m365.feature_refusal(tid, "user_create") is None
    assert set(m365.features_off(tid)) == {"last_sign_in"}
    roles_tenant = rows.loc[emu.tenant_ids[-1]]
    assert roles_tenant["missing_permissions"] == "RoleManagement.ReadWrite.Directory"
    assert "assign and remove directory roles" in roles_tenant["features_off"]


def test_access_no_consent_tenant_shows_no_consent_with_the_consent_url(emu, m365, rows):
    tid = trap(emu, "no consent (AADSTS65001)")
    row = rows.loc[tid]
    assert row["consent_url"] == f"{emu.authority_host}/{tid}/adminconsent?client_id={emu.client_id}"
    assert row["access_detail"].startswith("AADSTS65001: The user or administrator has not consented")
    assert row["features_off"] == "everything"
    assert "no consent" in m365.feature_refusal(tid, "user_edit")
    assert row["consent_url"] in m365.feature_refusal(tid, "user_edit")
    assert "AADSTS65001" in row["last_error"]


def test_access_tenant_without_p1_syncs_everything_else(emu, m365, rows):
    tid = trap(emu, "no Entra ID P1")
    row = rows.loc[tid]
    assert row["access"] == "ready" and row["missing_permissions"] == ""
    assert row["entra_p1"] == False  # noqa: E712 - a nullable boolean
    assert row["last_sign_in_note"] == "not available (needs Entra ID P1)"
    assert pd.isna(row["last_error"])
    raw = emu.session(tid)
    graph_users = raw.get(f"{emu.graph_url}/users", params={"$top": "999", "$select": "id"}).json()
    users = m365.users(tid)
    assert set(users["id"]) == {u["id"] for u in graph_users["value"]}
    assert users["last_sign_in"].isna().all() and users["licenses"].str.len().gt(0).any()
    assert len(m365.groups(tid)) > 0 and len(m365.licenses(tid)) > 0 and len(m365.roles(tid)) > 0
    assert "Entra ID P1" in m365.feature_refusal(tid, "last_sign_in")
    assert m365.feature_refusal(tid, "license_assign") is None


def test_access_overview_says_which_tenants_its_inactive_figures_leave_out(emu, m365):
    figures = overview(m365)
    excluded = dict(zip(figures.idle_excluded["tenant_id"], figures.idle_excluded["reason"]))
    assert excluded[trap(emu, "no Entra ID P1")] == "not available (needs Entra ID P1)"
    assert excluded[trap(emu, "missing AuditLog.Read.All")] == "not available (needs AuditLog.Read.All)"
    assert emu.tenant_ids[0] not in excluded
    quiet = figures.idle[figures.idle["why"].str.startswith("no sign-in")]
    assert not set(quiet["tenant_id"].astype(str)) & set(excluded)


def test_access_sync_line_shows_each_tenants_access(emu, capsys):
    code = main(["sync", "--config", str(emu.config_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1                                    # the tenant without consent fails
    assert "access" in out.splitlines()[0]
    assert "no consent" in out and "missing permissions" in out and "ready" in out
    assert "`m365dash access`" in err


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_access_report_in_every_format(emu, capsys, fmt):
    code = main(["access", "--config", str(emu.config_path), "--format", fmt])
    out, _ = capsys.readouterr()
    assert code == 1
    audit_tid = trap(emu, "missing AuditLog.Read.All")
    consent_tid = trap(emu, "no consent (AADSTS65001)")
    if fmt == "table":
        assert "missing permissions" in out and "AuditLog.Read.All" in out and "no consent" in out
        assert f"{emu.authority_host}/{consent_tid}/adminconsent?client_id={emu.client_id}" in out
        assert "relationship expired" in out            # the former client's GDAP ended
        return
    frame = (pd.read_csv(io.StringIO(out.lstrip("\ufeff")), dtype=str, keep_default_na=False)
             if fmt == "csv" else pd.DataFrame(json.loads(out)))
    by = frame.set_index("tenant_id")
    assert by.loc[audit_tid, "access"] == "missing permissions"
    assert by.loc[audit_tid, "missing_permissions"] == "AuditLog.Read.All"
    assert "last sign-in" in by.loc[audit_tid, "features_off"]
    assert by.loc[consent_tid, "access"] == "no consent"
    assert by.loc[consent_tid, "consent_url"] == \
        f"{emu.authority_host}/{consent_tid}/adminconsent?client_id={emu.client_id}"
    assert by.loc[emu.tenant_ids[0], "access"] == "ready"
    assert by.loc[trap(emu, "no Entra ID P1"), "last_sign_in"] == "not available (needs Entra ID P1)"
    assert "relationship expired" in set(frame["access"])


def test_access_switched_off_role_assignment_is_refused_before_any_write(emu, m365):
    tid = emu.tenant_ids[-1]
    domain = m365.domains(tid)["domain"].iloc[0]
    plan = m365.plan_onboarding(tid, user={"given_name": "Role", "surname": "Less",
                                           "username": "role.less", "domain": domain,
                                           "usage_location": "US"}, roles=[HELPDESK])
    problems = [p for p in plan.problems if "RoleManagement.ReadWrite.Directory" in p.message]
    assert len(problems) == 1 and problems[0].field == "assign role"
    before, writes = emu.stats()["per_tenant"].get(tid, 0), len(emu.writes(tid))
    with pytest.raises(PlanHasProblems, match="assign and remove directory roles"):
        plan.apply()
    assert emu.stats()["per_tenant"].get(tid, 0) == before      # not one request to Graph
    assert len(emu.writes(tid)) == writes
    # The same plan without the role is fine: only the refused step's feature is refused.
    ok = m365.plan_onboarding(tid, user={"given_name": "Role", "surname": "Less",
                                         "username": "role.less", "domain": domain,
                                         "usage_location": "US"})
    assert ok.problems == []
    user = m365.users(tid)["user_principal_name"].iloc[1]
    edit = m365.plan_edit(tid, user, add_roles=[HELPDESK])
    assert any("RoleManagement.ReadWrite.Directory" in p.message for p in edit.problems)


def test_access_bulk_onboarding_refuses_rows_the_tenant_cannot_take(emu, m365, tmp_path):
    tid = emu.tenant_ids[-1]
    domain = m365.domains(tid)["domain"].iloc[0]
    path = tmp_path / "roles.csv"
    pd.DataFrame([{"User Name": f"bulk.role{i}@{domain}", "First Name": "Bulk",
                   "Last Name": f"Role {i}", "Tenant": tid, "Usage Location": "US",
                   "Roles": HELPDESK if i == 0 else ""} for i in range(2)]).to_csv(path, index=False)
    writes = len(emu.writes(tid))
    plan = m365.bulk_onboard(path)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "Roles")]
    assert "RoleManagement.ReadWrite.Directory" in plan.problems[0].message
    assert len(emu.writes(tid)) == writes


def test_access_granted_again_is_ready_after_a_check(emu, m365):
    tid = emu.tenant_ids[-1]
    emu.set_access(tid, granted=ALL_PERMISSIONS)
    report = m365.check_access(tid).set_index("tenant_id")
    assert report.loc[tid, "access"] == "ready" and report.loc[tid, "missing_permissions"] == ""
    assert m365.feature_refusal(tid, "role_assign") is None
    assert m365.tenants().set_index("tenant_id").loc[tid, "access"] == "ready"


def test_access_a_listed_tenant_entra_does_not_know_is_tenant_unknown(tmp_path):
    import uuid
    with Emulator(tenants=1, users_per_tenant=3, seed=5) as small:
        unknown = str(uuid.uuid4())
        listed = tmp_path / "listed.toml"
        listed.write_text(small.config_path.read_text() + f'\n[[tenants]]\ntenant_id = "{unknown}"\n'
                          f'[[tenants]]\ntenant_id = "{small.tenant_ids[0]}"\n')
        with connect(listed) as client:
            client.sync(progress=False)
            rows = client.tenants().set_index("tenant_id")
            assert rows.loc[unknown, "access"] == "tenant unknown"
            assert rows.loc[small.tenant_ids[0], "access"] == "ready"
            assert client.check_access().set_index("tenant_id").loc[unknown, "access"] == \
                "tenant unknown"
