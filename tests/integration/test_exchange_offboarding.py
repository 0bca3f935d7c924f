"""Offboarding with Exchange Online against the emulator: the mailbox is converted, opened to
the manager, forwarded, hidden and taken out of distribution lists before the license goes; a
mailbox over 50 GB is refused before any write; re-applying writes nothing twice; a tenant
without the Exchange role says so in Access and refuses the Exchange steps up front."""
from __future__ import annotations

import pytest

from services.workflows import PlanHasProblems
from services.workflows.hybrid import is_synced

from ..helpers import RawGraph

EMULATOR = {"tenants": 2, "users_per_tenant": 24, "seed": 11}
EXCHANGE_CHOICES = dict(convert_to_shared=True, mailbox_access="manager", send_as="manager",
                        forward_to="manager", keep_copy=True, hide_from_address_lists=True,
                        remove_distribution_lists=True)


def _writes(emu, tid, cmdlet=None):
    return [w for w in emu.exchange_writes(tid) if cmdlet is None or w.cmdlet == cmdlet]


def _leaver(m365, emu, tid, taken=set()):
    """A user with a mailbox under 50 GB (not shared, not an admin), with a manager, in a
    distribution list; each call gives another one."""
    raw = RawGraph(emu, tid)
    users = m365.users(tid)
    boss = users[users["user_principal_name"].str.startswith("admin@")].iloc[0]
    lists = m365.groups(tid)
    dl = lists[lists["kind"] == "distribution"].iloc[0]
    for row in users.itertuples():
        upn = row.user_principal_name
        if (row.mailbox_type != "UserMailbox" or upn in taken or upn == boss.user_principal_name
                or upn == emu.large_mailbox(tid) or is_synced(row.on_premises_sync)):
            continue
        taken.add(upn)
        raw("PUT", f"users/{row.id}/manager/$ref",
            json={"@odata.id": f"{emu.graph_url}/users/{boss.id}"}).raise_for_status()
        if dl["id"] not in raw.group_ids(row.id):
            edit = m365.plan_edit(tid, upn, add_groups=[dl["id"]])
            assert edit.problems == [], edit.problems
            assert edit.apply().ok
        return row, boss, dl
    raise AssertionError("no demo user with a mailbox left")


def test_exchange_offboarding_keeps_the_mail_as_shared_then_removes_the_license(m365, emu, tid):
    user, boss, dl = _leaver(m365, emu, tid)
    plan = m365.plan_offboarding(tid, user.user_principal_name, remove_licenses=True,
                                 **EXCHANGE_CHOICES)
    assert plan.problems == [], plan.problems
    actions = list(plan.steps["action"])
    assert actions[:7] == ["convert mailbox to shared", "grant Full Access", "grant Send As",
                           "forward mail", "hide from address lists",
                           "remove from distribution list", "remove licenses"]
    licenses = plan._steps[actions.index("remove licenses")]
    assert licenses.after == (1,)                      # waits for the conversion
    assert "before the licenses are removed" in plan.steps.iloc[0]["detail"]
    result = plan.apply()
    assert result.ok, result
    assert set(result.steps["status"]) == {"done"}

    box = emu.mailbox(tid, user.user_principal_name)
    assert box["RecipientTypeDetails"] == "SharedMailbox"           # still there, as shared
    assert [p["User"].lower() for p in box["FullAccess"]] == [boss.user_principal_name.lower()]
    assert box["FullAccess"][0]["AutoMapping"] is True
    assert boss.user_principal_name.lower() in [s.lower() for s in box["SendAs"]]
    assert box["ForwardingSmtpAddress"].lower().endswith(boss.user_principal_name.lower())
    assert box["DeliverToMailboxAndForward"] is True and box["HiddenFromAddressListsEnabled"]
    raw = RawGraph(emu, tid)
    assert raw.user(user.id, select="assignedLicenses")["assignedLicenses"] == []
    assert dl["id"] not in raw.group_ids(user.id)
    listed = m365.users(tid).set_index("id").loc[user.id]
    assert listed["mailbox_type"] == "SharedMailbox"                # the store was refreshed
    entry = m365.audit_log(user=user.user_principal_name).iloc[0]
    assert entry["outcome"] == "done" and entry["action"] == "offboard"

    # Applying again writes nothing: every step finds its work done.
    before = len(emu.exchange_writes(tid))
    again = plan.apply()
    assert again.ok and set(again.steps["status"]) == {"skipped"}, again
    assert len(emu.exchange_writes(tid)) == before


def test_exchange_mailbox_over_50_gb_is_refused_before_any_write(m365, emu, tid):
    big = emu.large_mailbox(tid)
    assert big
    exchange, graph = len(emu.exchange_writes(tid)), len(emu.writes(tid))
    plan = m365.plan_offboarding(tid, big, convert_to_shared=True, remove_licenses=True,
                                 block_sign_in=True)
    [problem] = plan.problems
    assert problem.field == "convert_to_shared" and "over the 50 GB" in problem.message
    assert "GB" in problem.message.split("holds")[1]
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert len(emu.exchange_writes(tid)) == exchange and len(emu.writes(tid)) == graph
    assert emu.mailbox(tid, big)["RecipientTypeDetails"] == "UserMailbox"


def test_exchange_offboarding_of_a_user_without_mailbox_names_the_options(m365, emu, tid):
    users = m365.users(tid)
    none = users[users["mailbox_type"] == ""]
    if none.empty:
        pytest.skip("every demo user has a mailbox")
    plan = m365.plan_offboarding(tid, none.iloc[0]["user_principal_name"], convert_to_shared=True,
                                 hide_from_address_lists=True)
    assert {p.field for p in plan.problems} == {"convert_to_shared", "hide_from_address_lists"}
    assert all("no Exchange Online mailbox" in p.message for p in plan.problems)


def test_exchange_delete_with_convert_is_refused(m365, emu, tid):
    user, _boss, _dl = _leaver(m365, emu, tid)
    plan = m365.plan_offboarding(tid, user.user_principal_name, delete=True, convert_to_shared=True)
    assert any("deleting the user deletes the mailbox" in p.message for p in plan.problems)


def test_exchange_tenant_without_the_role_shows_it_and_refuses_exchange_steps(m365, emu):
    other = emu.tenant_ids[1]
    user, _boss, _dl = _leaver(m365, emu, other)
    emu.set_access(other, directory_roles=["User Administrator"])
    try:
        report = m365.check_access(other).set_index("tenant_id").loc[other]
        assert report["access"] == "missing permissions"
        assert report["missing_permissions"] == "Exchange Administrator (directory role)"
        assert "manage mailboxes and distribution lists" in report["features_off"]
        calls = emu.stats()["exchange_requests"]
        plan = m365.plan_offboarding(other, user.user_principal_name, convert_to_shared=True,
                                     block_sign_in=True)
        [problem] = plan.problems
        assert "Exchange Administrator" in problem.message
        assert emu.stats()["exchange_requests"] == calls          # refused without asking
        with pytest.raises(PlanHasProblems):
            plan.apply()
        # Graph-only offboarding still works there.
        assert m365.plan_offboarding(other, user.user_principal_name,
                                     revoke_sessions=True).problems == []
    finally:
        emu.set_access(other, directory_roles=["User Administrator", "Exchange Administrator"])
        m365.check_access(other)


def test_exchange_bulk_offboarding_columns_convert_and_forward(m365, emu, tid, tmp_path):
    user, boss, _dl = _leaver(m365, emu, tid)
    path = tmp_path / "offboard.csv"
    path.write_text("Tenant,User,Convert To Shared,Mailbox Access,Automapping,Forward To,"
                    "Keep Copy,Remove Licenses\n"
                    f"{tid},{user.user_principal_name},yes,manager,no,{boss.user_principal_name},"
                    "no,yes\n", encoding="utf-8")
    plan = m365.bulk_offboard(path)
    assert not plan.problems, plan.problems
    result = plan.apply(progress=False)
    assert result.ok, result
    box = emu.mailbox(tid, user.user_principal_name)
    assert box["RecipientTypeDetails"] == "SharedMailbox"
    assert box["FullAccess"][0]["AutoMapping"] is False
    assert box["DeliverToMailboxAndForward"] is False
    assert len(_writes(emu, tid, "Add-MailboxPermission")) >= 1


def test_exchange_sync_lists_mailbox_types_and_dynamic_distribution_groups(m365, emu, tid):
    users = m365.users(tid).set_index("user_principal_name")
    for upn in emu.shared_mailboxes(tid):
        assert users.loc[upn, "mailbox_type"] == "SharedMailbox"
    assert (users["mailbox_type"] == "UserMailbox").sum() > 10
    forwarded = users[users["forwarding_to"].notna()]
    assert len(forwarded) >= 1 and "@" in forwarded.iloc[0]["forwarding_to"]
    dynamic = m365.dynamic_distribution_groups(tid)
    assert len(dynamic) >= 1 and dynamic["read_only_reason"].str.contains("recipient filter").all()


def test_exchange_mailbox_details_for_the_user_page(m365, emu, tid):
    big = m365.mailbox(tid, emu.large_mailbox(tid))
    assert big["available"] and big["kind"] == "user mailbox"
    assert big["size_bytes"] > 50 * 1024 ** 3 and big["over_shared_limit"]
    info = m365.mailbox(tid, emu.shared_mailboxes(tid)[0])
    assert info["type"] == "SharedMailbox" and len(info["full_access"]) >= 1


def test_exchange_shared_mailboxes_to_tidy_are_the_licensed_or_enabled_ones(m365, emu, tid):
    from services.mailbox_details import shared_mailbox_to_tidy, tidy_reason
    users = m365.users(tid)
    flagged = users[shared_mailbox_to_tidy(users)].set_index("user_principal_name")
    info, reception = emu.shared_mailboxes(tid)[:2]
    assert info in flagged.index and "holds a license" in tidy_reason(flagged.loc[info].to_dict())
    assert reception in flagged.index and "sign-in allowed" in tidy_reason(flagged.loc[reception].to_dict())
    assert (flagged["mailbox_type"] == "SharedMailbox").all()


def test_exchange_scheduled_offboarding_converts_at_its_time(m365, emu, tid):
    from datetime import datetime, timedelta, timezone

    from services.schedules import run_due
    user, boss, _dl = _leaver(m365, emu, tid)
    at = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    plan = m365.plan_offboarding(tid, user.user_principal_name, convert_to_shared=True,
                                 mailbox_access="manager", remove_licenses=True, at=at)
    assert plan.problems == []
    job = plan.apply()
    assert job.ok and job.job_id
    assert emu.mailbox(tid, user.user_principal_name)["RecipientTypeDetails"] == "UserMailbox"
    listed = m365.scheduled_jobs().set_index("id").loc[job.job_id]
    assert "Convert to shared mailbox" in listed["options"]
    assert "Give Full Access to the mailbox" in listed["options"]
    ran = run_due(m365, now=at + timedelta(minutes=1))
    assert ran["status"].tolist() == ["done"], ran
    box = emu.mailbox(tid, user.user_principal_name)
    assert box["RecipientTypeDetails"] == "SharedMailbox"
    assert [p["User"].lower() for p in box["FullAccess"]] == [boss.user_principal_name.lower()]


def test_exchange_edit_adding_a_user_without_mailbox_to_a_list_is_a_problem(m365, emu, tid):
    raw = RawGraph(emu, tid)
    domain = next(d["id"] for d in raw.values("domains") if d["isDefault"])
    made = raw.json("POST", "users", json={
        "accountEnabled": True, "displayName": "No Mailbox", "mailNickname": "nomailbox.edit",
        "userPrincipalName": f"nomailbox.edit@{domain}",
        "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}})
    dl = m365.groups(tid).query("kind == 'distribution'").iloc[0]
    plan = m365.plan_edit(tid, made["id"], add_groups=[dl["id"]])
    [problem] = plan.problems
    assert problem.field == "groups" and "only users with a mailbox can join" in problem.message
    assert f"'{dl['display_name']}' is a distribution list" in problem.message
    plan = m365.plan_edit(tid, made["id"], add_groups=[dl["id"]], add_licenses=["EXCHANGESTANDARD"],
                          changes={"usage_location": "US"})
    assert plan.problems == [], plan.problems
