"""Offboarding's Graph v1.0 extras against the emulator: MFA methods, automatic replies, Intune
devices, hand-over of owned groups to the manager, in one plan, in bulk, re-applied, refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from services import Actor, PermissionDenied, connect
from services.workflows import PlanHasProblems

from ..helpers import RawGraph

Raw = RawGraph
EMULATOR = {"tenants": 2, "users_per_tenant": 30, "seed": 7}
ADMIN = Actor("admin@msp.example", role="admin")
PASSWORD_TYPE = "#microsoft.graph.passwordAuthenticationMethod"


@pytest.fixture(scope="module")
def raw(emu, tid):
    return Raw(emu, tid)


@pytest.fixture(scope="module")
def people(raw):
    """Demo users of tenant A by what they have; each test takes its own."""
    users = raw.values("users", **{"$select": "id,userPrincipalName,displayName,mail", "$top": "999"})
    out = {"mfa": [], "devices": [], "owners": [], "mailbox": []}
    for user in users[1:]:
        uid = user["id"]
        methods = [m for m in raw.values(f"users/{uid}/authentication/methods")
                   if m["@odata.type"] != PASSWORD_TYPE]
        if len(methods) >= 2:
            out["mfa"].append(user)
        if raw.values(f"users/{uid}/managedDevices"):
            out["devices"].append(user)
        if raw.values(f"users/{uid}/ownedObjects") and raw("GET", f"users/{uid}/manager").ok:
            out["owners"].append(user)
        if user["mail"]:
            out["mailbox"].append(user)
    return out


_counter = iter(range(1, 10**6))


def _unlicensed(raw) -> dict:
    """A new user without a license: no Exchange mailbox."""
    n = next(_counter)
    domain = next(d["id"] for d in raw.values("domains") if d["isDefault"])
    return raw.json("POST", "users", json={
        "accountEnabled": True, "displayName": f"No Mailbox {n}", "mailNickname": f"nomailbox{n}",
        "userPrincipalName": f"nomailbox{n}@{domain}",
        "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}})


def _take(people, kind, used=set()):
    for user in people[kind]:
        if user["id"] not in used:
            used.add(user["id"])
            return user
    pytest.skip(f"no demo user left with {kind}")


def test_offboarding_remove_mfa_leaves_only_the_password(m365, raw, tid, people):
    user = _take(people, "mfa")
    before = [m for m in raw.values(f"users/{user['id']}/authentication/methods")
              if m["@odata.type"] != PASSWORD_TYPE]
    plan = m365.plan_offboarding(tid, user["userPrincipalName"], remove_mfa=True)
    assert plan.problems == []
    listed = plan.steps[plan.steps["action"] == "remove MFA method"]
    assert len(listed) == len(before)
    assert not any(str(m.get("phoneNumber", "x"))[-8:] in " ".join(listed["target"])
                   for m in before if m.get("phoneNumber"))          # numbers are masked
    result = plan.apply()
    assert result.ok, result
    after = raw.values(f"users/{user['id']}/authentication/methods")
    assert [m["@odata.type"] for m in after] == [PASSWORD_TYPE]
    again = plan.apply()
    assert set(again.steps["status"]) == {"skipped"}
    log = m365.audit_log(user=user["userPrincipalName"])
    assert "remove MFA method" in str(log.iloc[0]["detail"])


def test_offboarding_remove_mfa_survives_a_wrong_guess_of_the_default(m365, raw, tid, people):
    """The client cannot read the default method (beta-only); a refusal is retried last."""
    for user in people["mfa"]:
        methods = [m for m in raw.values(f"users/{user['id']}/authentication/methods")
                   if m["@odata.type"] != PASSWORD_TYPE]
        kinds = {m["@odata.type"] for m in methods}
        if "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod" in kinds and \
                "#microsoft.graph.phoneAuthenticationMethod" in kinds:
            break
    else:
        pytest.skip("no user with both Authenticator and a phone")
    # A user whose default is the Authenticator, deleted with the Authenticator planned first.
    from services.workflows import offboarding_steps as X
    original = X.ORDER
    X.ORDER = tuple(reversed(original))
    try:
        plan = m365.plan_offboarding(tid, user["id"], remove_mfa=True)
    finally:
        X.ORDER = original
    result = plan.apply()
    assert result.ok, result
    statuses = list(result.steps["status"])
    assert "skipped" in statuses and "refused" in " ".join(result.steps["error"].fillna(""))
    assert "which Graph refused earlier" in str(result.steps.iloc[-1]["error"])
    assert [m["@odata.type"] for m in raw.values(f"users/{user['id']}/authentication/methods")] == \
        [PASSWORD_TYPE]


def test_offboarding_auto_reply_now_and_scheduled(m365, raw, tid, people):
    user = _take(people, "mailbox")
    plan = m365.plan_offboarding(tid, user["id"], auto_reply="{display_name} has left. Write to us.")
    assert plan.problems == []
    assert plan.apply().ok
    got = raw.json("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
    assert got["status"] == "alwaysEnabled" and got["externalAudience"] == "all"
    assert got["internalReplyMessage"] == f"{user['displayName']} has left. Write to us."
    assert got["externalReplyMessage"] == got["internalReplyMessage"]
    assert set(plan.apply().steps["status"]) == {"skipped"}
    start = datetime.now(timezone.utc) + timedelta(days=1)
    end = start + timedelta(days=30)
    plan = m365.plan_offboarding(tid, user["id"], auto_reply={
        "message": "Away", "external_message": "Gone", "audience": "contactsOnly",
        "start": start, "end": end.isoformat()})
    assert plan.apply().ok
    got = raw.json("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
    assert got["status"] == "scheduled" and got["externalAudience"] == "contactsOnly"
    assert got["externalReplyMessage"] == "Gone"
    assert got["scheduledEndDateTime"]["dateTime"].startswith(end.strftime("%Y-%m-%dT%H:%M"))


def test_offboarding_auto_reply_without_mailbox_is_a_problem_and_writes_nothing(m365, raw, tid, people):
    user = _unlicensed(raw)
    plan = m365.plan_offboarding(tid, user["id"], auto_reply="Gone", block_sign_in=True)
    assert [p.field for p in plan.problems] == ["auto_reply"]
    assert "no Exchange Online mailbox" in plan.problems[0].message
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert raw.json("GET", f"users/{user['id']}", params={"$select": "accountEnabled"})[
        "accountEnabled"] is not False


@pytest.mark.parametrize("spec, words", [
    ({"message": "x" * 8001}, "8,001 characters"),
    ({"message": "Away", "audience": "everyone"}, "audience 'everyone'"),
    ({"message": "Away", "start": "2030-01-02T00:00", "end": "2030-01-01T00:00"}, "is not after"),
    ({"message": "Away", "end": "2001-01-01T00:00Z"}, "in the past"),
    ({"message": "Away", "start": "tomorrow", "end": "2030-01-01"}, "not a date"),
    ({"message": ""}, "give the automatic reply's message"),
])
def test_offboarding_auto_reply_bad_input_names_the_problem(m365, tid, people, spec, words):
    user = people["mailbox"][-1]
    plan = m365.plan_offboarding(tid, user["id"], auto_reply=spec)
    assert any(p.field == "auto_reply" and words in p.message for p in plan.problems), plan.problems


def test_offboarding_auto_reply_with_delete_is_refused(m365, tid, people):
    plan = m365.plan_offboarding(tid, people["mailbox"][-1]["id"], auto_reply="Gone", delete=True)
    assert any("removes the mailbox" in p.message for p in plan.problems)


def test_offboarding_retire_devices_lists_and_retires_them(m365, raw, tid, people):
    user = _take(people, "devices")
    devices = raw.values(f"users/{user['id']}/managedDevices")
    plan = m365.plan_offboarding(tid, user["id"], retire_devices=True)
    assert sorted(plan.steps["target"]) == sorted(d["deviceName"] for d in devices)
    assert all("no wipe" in d for d in plan.steps["detail"])
    assert plan.apply().ok
    states = {d["managementState"] for d in raw.values(f"users/{user['id']}/managedDevices")}
    assert states == {"retirePending"}
    assert set(plan.apply().steps["status"]) == {"skipped"}
    again = m365.plan_offboarding(tid, user["id"], retire_devices=True)
    assert "no Intune devices to retire" in again.problems[0].message


def test_offboarding_hand_over_makes_the_manager_owner(m365, raw, tid, people):
    user = _take(people, "owners")
    manager = raw.json("GET", f"users/{user['id']}/manager")
    owned = raw.values(f"users/{user['id']}/ownedObjects")
    plan = m365.plan_offboarding(tid, user["id"], hand_over_to_manager=True, block_sign_in=True)
    assert plan.problems == []
    handover = plan.steps[plan.steps["action"] == "add group owner"]
    assert set(handover["target"]) == {g["displayName"] for g in owned}
    assert all(manager["displayName"] in d for d in handover["detail"])
    assert plan.apply().ok
    for group in owned:
        assert manager["id"] in {o["id"] for o in raw.values(f"groups/{group['id']}/owners")}
    assert {g["id"] for g in raw.values(f"users/{manager['id']}/ownedObjects")} >= {g["id"] for g in owned}


def test_offboarding_hand_over_without_manager_is_a_problem(m365, raw, tid, people):
    user = _take(people, "owners")
    raw.json("DELETE", f"users/{user['id']}/manager/$ref")
    plan = m365.plan_offboarding(tid, user["id"], hand_over_to_manager=True)
    assert [p.field for p in plan.problems] == ["hand_over_to_manager"]
    assert "has no manager" in plan.problems[0].message


def test_offboarding_new_steps_need_the_admin_role(emu, tid, people):
    tech = connect(emu.config_path, actor=Actor("tech@msp.example", role="technician"))
    try:
        plan = tech.plan_offboarding(tid, people["mfa"][-1]["id"], remove_mfa=True)
        with pytest.raises(PermissionDenied):
            plan.apply()
    finally:
        tech.close()


def test_offboarding_unchanged_reasons_for_new_options(m365, raw, tid):
    user = _unlicensed(raw)          # new: no methods but the password, no devices, owns nothing
    plan = m365.plan_offboarding(tid, user["id"], remove_mfa=True, retire_devices=True,
                                 hand_over_to_manager=True)
    text = plan.problems[0].message
    assert "no MFA methods" in text and "no Intune devices" in text and "owns no groups" in text


def test_bulk_offboarding_csv_with_the_new_columns(m365, raw, tid, people, tmp_path):
    users = [u for u in people["mfa"] if u["mail"]][-2:]
    csv = tmp_path / "off.csv"
    pd.DataFrame({"Tenant": tid, "User": [u["userPrincipalName"] for u in users],
                  "Remove MFA": "yes", "Retire Devices": "yes", "Hand Over To Manager": "no",
                  "Auto Reply": "I have left the company.", "Auto Reply Audience": "all"}
                 ).to_csv(csv, index=False)
    plan = m365.bulk_offboard(csv)
    assert plan.problems == [], plan.problems
    result = plan.apply(progress=False)
    assert result.ok, result.failed().to_string()
    for user in users:
        assert [m["@odata.type"] for m in raw.values(f"users/{user['id']}/authentication/methods")] \
            == [PASSWORD_TYPE]
        reply = raw.json("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
        assert reply["internalReplyMessage"] == "I have left the company."


def test_bulk_offboarding_csv_no_mailbox_row_is_named(m365, raw, tid, tmp_path):
    user = _unlicensed(raw)
    csv = tmp_path / "off.csv"
    pd.DataFrame({"Tenant": [tid], "User": [user["userPrincipalName"]],
                  "Auto Reply": ["Gone"]}).to_csv(csv, index=False)
    plan = m365.bulk_offboard(csv)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "Auto Reply")]
