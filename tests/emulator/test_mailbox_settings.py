"""mailboxSettings: automatic replies (now or scheduled), validation that writes nothing, and
Graph's 404 for users without an Exchange mailbox."""
from __future__ import annotations

from .conftest import graph_error, new_user


def _licensed(api):
    users = api.all("users", params={"$select": "id,mail", "$top": "999"})
    return next(u for u in users if u["mail"]), [u for u in users if not u["mail"]]


def test_mailbox_settings_automatic_replies_now(api):
    user, _ = _licensed(api)
    body = {"automaticRepliesSetting": {"status": "alwaysEnabled", "externalAudience": "contactsOnly",
                                        "internalReplyMessage": "I have left; ask Sam.",
                                        "externalReplyMessage": "I have left the company."}}
    resp = api.patch(f"users/{user['id']}/mailboxSettings", json=body)
    assert resp.status_code == 200, resp.text
    got = api.ok("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
    assert got["status"] == "alwaysEnabled" and got["externalAudience"] == "contactsOnly"
    assert got["internalReplyMessage"] == "I have left; ask Sam."
    assert got["externalReplyMessage"] == "I have left the company."


def test_mailbox_settings_automatic_replies_scheduled(api):
    user, _ = _licensed(api)
    body = {"automaticRepliesSetting": {
        "status": "scheduled", "externalAudience": "all", "internalReplyMessage": "Away",
        "externalReplyMessage": "Away",
        "scheduledStartDateTime": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"}}}
    assert api.patch(f"users/{user['id']}/mailboxSettings", json=body).status_code == 200
    got = api.ok("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
    assert got["status"] == "scheduled"
    assert got["scheduledEndDateTime"] == {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"}


def test_mailbox_settings_bad_values_write_nothing(api):
    user, _ = _licensed(api)
    before = api.ok("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"]
    bad = [({"status": "sometimes"}, "RequestBodyRead"),
           ({"externalAudience": "friends"}, "RequestBodyRead"),
           ({"status": "scheduled", "scheduledStartDateTime": None}, "ErrorInvalidRequest"),
           ({"status": "scheduled",
             "scheduledStartDateTime": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
             "scheduledEndDateTime": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"}},
            "ErrorInvalidScheduledOofDuration"),
           ({"mood": "happy"}, "BadRequest")]
    for change, code in bad:
        resp = api.patch(f"users/{user['id']}/mailboxSettings", json={"automaticRepliesSetting": change})
        graph_error(resp, 400, code)
    assert api.ok("GET", f"users/{user['id']}/mailboxSettings")["automaticRepliesSetting"] == before


def test_mailbox_settings_unlicensed_user_has_no_mailbox(api):
    _, unlicensed = _licensed(api)
    fresh = new_user(api)
    for user in [*unlicensed[:2], fresh]:
        for resp in (api.get(f"users/{user['id']}/mailboxSettings"),
                     api.patch(f"users/{user['id']}/mailboxSettings",
                               json={"automaticRepliesSetting": {"status": "alwaysEnabled"}})):
            error = graph_error(resp, 404, "MailboxNotEnabledForRESTAPI")
            assert error["message"] == ("The mailbox is either inactive, soft-deleted, or is hosted "
                                        "on-premise.")
