"""The permission table and the access rules: one table, the README generated from it, every
status and refusal worded for a technician, and the store upgraded in place."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from emulator.access import ALL_PERMISSIONS, DEFAULT_ROLES
from services import access as A
from services import permissions as P
from services.app_tokens import token_claims
from services.errors import AuthFailure
from services.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"
# What an emulated tenant grants by default: Graph's permissions in its Graph token, Exchange's
# in its Exchange token (services.exchange.exchange_roles), and the app's directory roles.
ALL_PERMISSIONS = sorted({*ALL_PERMISSIONS, "Exchange.ManageAsApp"})
DEFAULT_ROLES = sorted({*DEFAULT_ROLES, "Exchange Administrator"})


def test_permissions_readme_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- permissions:")
    end = text.index("<!-- /permissions -->")
    shown = [line.strip() for line in text[start:end].splitlines()[1:] if line.strip()]
    assert shown == P.markdown_table().splitlines()


def test_permissions_every_step_action_names_a_known_feature():
    assert set(P.STEP_FEATURES.values()) <= set(P.FEATURES)
    assert {f for _, f in P.STEP_WORDS} <= set(P.FEATURES)
    assert P.step_feature("remove MFA method") == "mfa_reset"
    assert P.step_feature("create Temporary Access Pass") == "tap"
    assert P.step_feature("set automatic replies") == "mailbox_settings"
    assert P.step_feature("retire device") == "device_retire"
    assert P.step_feature("assign licenses") == "license_assign"
    assert P.step_feature("look at the weather") is None


def test_access_emulator_default_grant_is_ready():
    values = A.evaluate(ALL_PERMISSIONS, DEFAULT_ROLES)
    assert values["access"] == A.READY and values["missing_permissions"] == ""
    assert set(P.requested_permissions()) - {"DelegatedAdminRelationship.Read.All"} <= \
        set(ALL_PERMISSIONS)


def test_access_missing_permission_lists_it_and_the_features_it_switches_off():
    granted = set(ALL_PERMISSIONS) - {"UserAuthenticationMethod.ReadWrite.All"}
    values = A.evaluate(granted, DEFAULT_ROLES)
    assert values["access"] == A.MISSING
    assert values["missing_permissions"] == "UserAuthenticationMethod.ReadWrite.All"
    row = {**values, "display_name": "Contoso"}
    assert set(A.features_off(row)) == {"mfa_reset", "tap"}
    why = A.refusal(row, "mfa_reset", url="https://login.example/t/adminconsent?client_id=c")
    assert why.startswith("list and remove a leaver's MFA methods is switched off in Contoso")
    assert "UserAuthenticationMethod.ReadWrite.All" in why and "adminconsent" in why
    assert A.refusal(row, "user_create") is None


def test_access_a_missing_directory_role_switches_off_password_reset_only():
    row = {**A.evaluate(ALL_PERMISSIONS, ["Exchange Administrator"]), "display_name": "Contoso"}
    assert row["missing_permissions"] == "User Administrator (directory role)"
    assert set(A.features_off(row)) == {"password_reset"}
    row = {**A.evaluate(ALL_PERMISSIONS, ["User Administrator"]), "display_name": "Contoso"}
    assert row["missing_permissions"] == "Exchange Administrator (directory role)"
    assert set(A.features_off(row)) == {"exchange"}
    # Roles that could not be read are not reported as missing.
    assert A.evaluate(ALL_PERMISSIONS, None)["access"] == A.READY


def test_access_token_refusals_mean_no_consent_or_tenant_unknown():
    def refused(code):
        return AuthFailure(f"app x is not installed. Entra ID said: AADSTS{code}: text",
                           status=401, details=[{"code": f"AADSTS{code}"}])
    assert A.from_token_refusal(refused(65001))["access"] == A.NO_CONSENT
    assert A.from_token_refusal(refused(700016))["access"] == A.NO_CONSENT
    assert A.from_token_refusal(refused(90002))["access"] == A.UNKNOWN
    assert A.from_token_refusal(refused(7000215)) is None     # a wrong secret: the app's problem
    assert A.from_token_refusal(refused(65001))["access_detail"] == "AADSTS65001: text"


def test_access_blocked_tenant_refuses_everything_and_unchecked_refuses_nothing():
    row = {"access": A.NO_CONSENT, "display_name": "Fabrikam"}
    assert A.features_off_text(row) == "everything"
    assert "no consent" in A.refusal(row, "user_edit", url="https://x/adminconsent")
    assert A.refusal({"access": None}, "user_edit") is None
    assert A.refusal(None, "user_edit") is None


def test_access_no_p1_switches_off_last_sign_in_only():
    row = {**A.evaluate(ALL_PERMISSIONS, DEFAULT_ROLES), "entra_p1": False, "display_name": "T"}
    assert A.features_off(row) == {"last_sign_in": "needs Entra ID P1"}
    assert A.last_sign_in_note(row) == "not available (needs Entra ID P1)"
    assert row["access"] == A.READY


def test_access_no_intune_switches_off_the_device_features_only():
    row = {**A.evaluate(ALL_PERMISSIONS, DEFAULT_ROLES), "intune": False, "display_name": "T"}
    assert A.features_off(row) == {"devices": "needs Intune", "device_retire": "needs Intune"}
    assert row["access"] == A.READY
    assert "the tenant has no Intune" in A.refusal(row, "device_retire")
    assert A.refusal({**row, "intune": True}, "device_retire") is None


def test_access_no_intune_is_graphs_400_not_applicable_answer():
    from services.errors import BadRequest, PermissionDeniedByGraph
    assert A.is_no_intune(BadRequest("Request not applicable to target tenant.", status=400,
                                     code="BadRequest"))
    assert not A.is_no_intune(PermissionDeniedByGraph("Insufficient privileges to complete the "
                                                      "operation.", status=403,
                                                      code="Authorization_RequestDenied"))


def test_access_consent_url_is_entras_admin_consent_link():
    assert A.consent_url("https://login.microsoftonline.com", "t-1", "c-2") == \
        "https://login.microsoftonline.com/t-1/adminconsent?client_id=c-2"


def test_access_token_claims_are_read_without_the_token():
    import jwt
    token = jwt.encode({"roles": ["User.Read.All"], "oid": "sp", "tid": "t", "secret": "x"}, "k" * 32,
                       algorithm="HS256")
    assert token_claims(token) == {"roles": ["User.Read.All"], "oid": "sp", "tid": "t"}
    assert token_claims("not-a-jwt") == {}


def test_access_columns_are_added_to_an_existing_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE tenants (tenant_id VARCHAR(64) PRIMARY KEY, "
                             "display_name VARCHAR(400), active BOOLEAN NOT NULL, "
                             "sync_enabled BOOLEAN NOT NULL)"))
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 'Old', 1, 1)"))
    engine.dispose()
    store = Store(url)
    try:
        assert store.tenant("t1")["access"] is None
        assert store.record_access("t1", A.evaluate(ALL_PERMISSIONS, DEFAULT_ROLES))
        assert store.tenant("t1")["access"] == A.READY
        assert not store.record_access("unknown", {"access": A.READY})   # never adds tenants
    finally:
        store.close()


def test_access_plan_steps_a_tenant_cannot_take_are_problems_before_apply(tmp_path):
    from types import SimpleNamespace

    from services.workflows.plan import Plan, Step
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO tenants (tenant_id, display_name, active, "
                                 "sync_enabled) VALUES ('t1', 'Contoso', 1, 1)"))
        lacking = set(ALL_PERMISSIONS) - {"UserAuthenticationMethod.ReadWrite.All",
                                          "MailboxSettings.ReadWrite", "AuditLog.Read.All"}
        store.record_access("t1", A.evaluate(lacking, DEFAULT_ROLES))
        m365 = SimpleNamespace(store=store, config=SimpleNamespace(graph=SimpleNamespace(
            authority_host="https://login.microsoftonline.com", client_id="app-1")))
        plan = Plan(m365, kind="offboard", permission="offboard", tenant_id="t1", user="u@x",
                    parameters={})
        for action in ("block sign-in", "remove MFA method", "remove MFA method",
                       "set automatic replies", "remove licenses"):
            plan.add(Step(action, "target"))
        assert [p.field for p in plan.problems] == ["remove MFA method", "set automatic replies"]
        assert "UserAuthenticationMethod.ReadWrite.All" in plan.problems[0].message
        assert "MailboxSettings.ReadWrite" in plan.problems[1].message
        assert "https://login.microsoftonline.com/t1/adminconsent?client_id=app-1" in \
            plan.problems[1].message
        assert "AuditLog.Read.All" in A.feature_refusal(m365, "t1", "last_sign_in")
        explicit = Plan(m365, kind="edit", permission="edit", tenant_id="t1", user="u@x",
                        parameters={}, steps=[Step("custom", "x", feature="mailbox_settings")])
        assert len(explicit.problems) == 1
    finally:
        store.close()
