"""The rules of scheduled offboardings and offboarding defaults, without Graph: `at` parsing and
limits, late notes, auto-reply placeholders, the store's claim on SQLite, and the CSV `When`
column."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.bulk.csvfile import read_bulk
from services.offboarding_defaults import check_message, render_auto_reply
from services.schedules import duration, late_note
from services.store import Store
from services.store import schedules as store
from services.workflows.scheduled import check_at, parse_at

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_parse_at_accepts_aware_datetimes_and_iso_text_with_offsets():
    berlin = datetime(2026, 12, 4, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert parse_at(berlin) == (datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc), None)
    assert parse_at("2026-12-04T17:00+01:00")[0] == datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)
    assert parse_at("2026-12-04T16:00Z")[0] == datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, words", [
    (datetime(2026, 12, 4, 17, 0), "has no time zone"),
    ("2026-12-04T17:00", "has no time zone"),
    ("Friday at 5", "is not an ISO 8601 date and time"),
    (date(2026, 12, 4), "a date without a time"),
    (1764864000, "must be a datetime"),
])
def test_parse_at_refuses_naive_or_unreadable_times_with_the_reason(value, words):
    when, problem = parse_at(value)
    assert when is None and words in problem


def test_check_at_refuses_the_past_and_more_than_a_year_ahead():
    assert check_at(NOW + timedelta(minutes=1), NOW) == (NOW + timedelta(minutes=1), None)
    assert "is in the past" in check_at(NOW - timedelta(seconds=1), NOW)[1]
    assert "is in the past" in check_at(NOW, NOW)[1]
    assert check_at(NOW + timedelta(days=365), NOW)[1] is None
    problem = check_at(NOW + timedelta(days=366), NOW)[1]
    assert "more than a year ahead" in problem and "2027-12-01 12:00 UTC" in problem


def test_late_note_says_by_how_much_only_past_the_grace():
    assert late_note(None) == "" and late_note(60) == "" and late_note(300) == ""
    assert late_note(3 * 3600 + 5 * 60).startswith("ran 3 h 5 min late")
    assert duration(2 * 86400 + 3600) == "2 d 1 h" and duration(42) == "42 s"


def test_auto_reply_placeholders_are_checked_and_filled():
    text = "{display_name} has left. Please write to {manager}. Braces: {{ok}}"
    assert check_message(text) == text
    assert render_auto_reply(text, display_name="Ann Lee", manager="Bo Chen") == (
        "Ann Lee has left. Please write to Bo Chen. Braces: {ok}")
    assert check_message("   ") is None and check_message(None) is None
    with pytest.raises(ValueError, match=r"unknown placeholder \{name\}.*\{display_name\}, \{manager\}"):
        check_message("Hello {name}")
    with pytest.raises(ValueError, match=r"unknown placeholder \{\}"):
        check_message("Hello {}")
    with pytest.raises(ValueError, match="literal brace"):
        check_message("Hello {display_name")
    with pytest.raises(ValueError, match="at most 8,000"):
        check_message("x" * 8001)
    with pytest.raises(ValueError, match="has no manager"):
        render_auto_reply("Write to {manager}", display_name="Ann Lee", manager=None)


def _job(at: datetime) -> dict:
    return {"kind": "offboard", "tenant_id": "t1", "user_id": "u1", "user_principal_name": "a@x",
            "display_name": "A", "options": json.dumps({"block_sign_in": True}), "at": at,
            "created": NOW, "actor": "admin", "role": "admin", "status": store.SCHEDULED,
            "attempts": 0, "progress": "[]"}


def test_store_claim_takes_a_due_job_once_and_a_stalled_one_after_its_lease(store_url):
    st = Store(store_url)       # SQLite, or PostgreSQL (FOR UPDATE SKIP LOCKED) in its pass
    try:
        job_id = store.insert_job(st.engine, _job(NOW))
        later = store.insert_job(st.engine, _job(NOW + timedelta(hours=1)))
        lease = NOW + timedelta(minutes=2)
        first = store.claim(st.engine, now=NOW, runner="a", lease_until=lease)
        assert first["id"] == job_id and first["status"] == store.SCHEDULED
        # Nothing else is due; the claimed job is leased to runner "a".
        assert store.claim(st.engine, now=NOW, runner="b", lease_until=lease) is None
        # Runner "a" died: once its lease has run out, "b" takes the job over.
        after = NOW + timedelta(minutes=3)
        taken = store.claim(st.engine, now=after, runner="b", lease_until=after + timedelta(minutes=2))
        assert taken["id"] == job_id and taken["status"] == store.RUNNING and taken["runner"] == "a"
        assert not store.renew_lease(st.engine, job_id, "a", after + timedelta(minutes=2))
        assert store.renew_lease(st.engine, job_id, "b", after + timedelta(minutes=4))
        assert not store.finish(st.engine, job_id, "a", status="done", outcome="x", finished=after,
                                late_seconds=0)          # "a" no longer owns it
        assert store.finish(st.engine, job_id, "b", status="done", outcome="ok", finished=after,
                            late_seconds=0)
        assert not store.cancel(st.engine, job_id, by="admin", now=after, outcome="c")
        assert store.cancel(st.engine, later, by="admin", now=after, outcome="c")
        assert store.claim(st.engine, now=NOW + timedelta(days=1), runner="c",
                           lease_until=NOW + timedelta(days=1)) is None
    finally:
        st.close()


def test_bulk_offboard_when_column_reads_iso_times_and_names_row_and_column_of_bad_ones():
    text = ("Tenant,User,Block Sign-in,When\n"
            "contoso.com,a@contoso.com,yes,2026-12-04T17:00+01:00\n"
            "fabrikam.com,b@fabrikam.com,yes,\n"
            "contoso.com,c@contoso.com,yes,2026-12-04 17:00\n"
            "contoso.com,d@contoso.com,yes,next friday\n")
    table = read_bulk(text, "offboard")
    by_row = {r["row"]: r for r in table.rows}
    assert by_row[2]["at"] == "2026-12-04T16:00:00Z" and by_row[3]["at"] is None
    problems = {p.row: p for p in table.problems}
    assert set(problems) == {4, 5}
    assert problems[4].column == "When" and "has no time zone" in problems[4].message
    assert problems[5].column == "When" and "not an ISO 8601" in problems[5].message
    assert str(problems[5]).startswith("row 5, column 'When'")
