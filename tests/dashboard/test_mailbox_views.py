"""The mailbox on the user page (read live from Exchange Online) and the Mailbox column and the
"shared mailboxes to tidy" filter of All Users."""
from __future__ import annotations

import pandas as pd

from dashboard.viewmodels import UserDetailsViewModel, UsersViewModel
from dashboard.viewmodels.listing_cache import display
from dashboard.views.user_details import _summary_html, mailbox_html, size_text
from tests.helpers import run


def _loaded(make_vm, tid, user):
    vm = make_vm(UserDetailsViewModel)
    assert vm.load(tid, user)
    assert vm.mailbox_loading and mailbox_html(vm.mailbox, vm.mailbox_loading).count("Reading")
    run(vm.load_live())
    assert not vm.mailbox_loading
    return vm


def test_user_details_mailbox_shared_names_its_holders(world, make_vm):
    emu, _ = world
    tid = emu.tenant_ids[0]
    upn = emu.shared_mailboxes(tid)[0]
    vm = _loaded(make_vm, tid, upn)
    box = vm.mailbox
    assert box["available"] and box["type"] == "SharedMailbox"
    server = emu.mailbox(tid, upn)             # what Exchange keeps
    assert sorted(f["user"] for f in box["full_access"]) == sorted(f["User"] for f in server["FullAccess"])
    assert all(any(w in name for w in server["SendAs"]) for name in box["send_as"])
    assert box["full_access"] and all(f["name"].endswith(f"({f['user']})") for f in box["full_access"])
    shown = mailbox_html(box)
    assert "<td>Shared mailbox</td>" in shown and " GB of 50 GB" in shown
    assert "No forwarding" in shown and "Hidden from address lists" in shown
    assert "SharedMailbox" not in shown and "m365-mailbox-over" not in shown
    for holder in box["full_access"]:
        assert holder["name"] in shown


def test_user_details_mailbox_over_the_shared_limit_is_flagged(world, make_vm):
    emu, _ = world
    tid = emu.tenant_ids[0]
    vm = _loaded(make_vm, tid, emu.large_mailbox(tid))
    assert vm.mailbox["over_shared_limit"]
    shown = mailbox_html(vm.mailbox)
    assert "User mailbox" in shown and "m365-mailbox-over" in shown
    assert "cannot become a shared mailbox without a license" in shown


def test_user_details_mailbox_unavailable_shows_the_reason(world, make_vm):
    emu, m365 = world
    other = emu.tenant_ids[1]
    upn = str(m365.users(other).query("mailbox_type == 'UserMailbox'")["user_principal_name"].iloc[0])
    emu.set_access(other, directory_roles=["User Administrator"])
    try:
        m365.check_access(other)
        vm = _loaded(make_vm, other, upn)
    finally:
        emu.set_access(other, directory_roles=["User Administrator", "Exchange Administrator"])
        m365.check_access(other)
    assert not vm.mailbox["available"]
    shown = mailbox_html(vm.mailbox)
    assert "m365-mailbox-unavailable" in shown and "Exchange Administrator" in shown
    assert vm.alerts == []                     # the rest of the page is not a failure


def test_user_details_mailbox_forwarding_and_automapping_in_words():
    box = {"available": True, "type": "UserMailbox", "kind": "user mailbox",
           "size_bytes": 13_207_024_435, "quota_bytes": 50 * 1024 ** 3, "over_shared_limit": False,
           "forwarding_to": "ann@contoso.com", "keeps_copy": True, "hidden": True,
           "full_access": [{"user": "bo@contoso.com", "automapping": True, "name": "Bo (bo@contoso.com)"}],
           "send_as": []}
    shown = mailbox_html(box)
    assert "12.3 GB of 50 GB" in shown and "Forwards to ann@contoso.com, keeps a copy" in shown
    assert "<td>Yes</td>" in shown and "Bo (bo@contoso.com) (in their Outlook)" in shown
    assert "No one else" in shown                       # nobody may send as the user
    assert size_text(350 * 1024 ** 2) == "350 MB" and size_text(None) == ""


def test_user_details_summary_times_in_the_viewer_time_zone(world, make_vm):
    emu, _ = world
    vm = make_vm(UserDetailsViewModel)
    assert vm.load(emu.tenant_ids[0], emu.shared_mailboxes(emu.tenant_ids[0])[0])
    created = pd.Timestamp(vm.summary["created"])
    shown = _summary_html(vm.summary, "No manager", "Asia/Tokyo")
    local = created.tz_convert("Asia/Tokyo") if created.tzinfo else \
        created.tz_localize("UTC").tz_convert("Asia/Tokyo")
    assert f"{local:%Y-%m-%d %H:%M}</td>" in shown and "Created (your time)" in shown
    assert " UTC</td>" not in shown and "(UTC)'" in shown     # UTC only on hover


def test_users_mailbox_column_and_shared_to_tidy_filter(world, make_vm):
    emu, m365 = world
    vm = make_vm(UsersViewModel)
    vm.refresh()
    assert set(vm.filtered["mailbox"]) <= {"Shared", "User", ""}
    shared = set(vm.filtered.loc[vm.filtered["mailbox"] == "Shared", "user_principal_name"])
    assert set(emu.shared_mailboxes(emu.tenant_ids[0])) <= shared
    vm.shared_to_tidy = True
    tidy = vm.filtered
    assert len(tidy) and (tidy["mailbox"] == "Shared").all()
    assert ((tidy["licenses"].fillna("") != "") | tidy["account_enabled"].astype(bool)).all()
    vm.tenant = emu.tenant_ids[0]
    assert set(vm.filtered["tenant_id"]) == {emu.tenant_ids[0]}
    header = vm.export_csv().splitlines()[0]
    assert "mailbox" in header and "shared_to_tidy" not in header and "licensed" not in header


def test_users_listing_flags_only_shared_mailboxes_with_a_license_or_sign_in():
    users = pd.DataFrame({
        "tenant_name": ["T"] * 4, "display_name": list("abcd"), "user_principal_name": list("abcd"),
        "department": [""] * 4, "job_title": [""] * 4,
        "licenses": ["Office 365 E3", "", "", "Office 365 E3"],
        "account_enabled": [False, True, False, True], "last_sign_in": [None] * 4,
        "tenant_id": ["t"] * 4, "id": list("abcd"),
        "mailbox_type": ["SharedMailbox", "SharedMailbox", "SharedMailbox", "UserMailbox"]})
    shown = display(users)
    assert list(shown["mailbox"]) == ["Shared", "Shared", "Shared", "User"]
    assert list(shown["shared_to_tidy"]) == [True, True, False, False]
    assert list(shown["licensed"]) == [True, False, False, True]
