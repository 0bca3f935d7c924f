"""The audit log: entries in UTC, filters, and no secrets in what is stored."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services import audit
from services.db import make_engine


def test_entries_are_written_in_utc_and_read_newest_first(store_url):
    engine = make_engine(store_url)
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    audit.record(engine, actor="alice", role="technician", action="onboard", outcome="done",
                 tenant_id="t1", user="a@contoso.com", detail={"steps": [{"step": 1}]}, time=t0)
    audit.record(engine, actor="bob", role="viewer", action="offboard", outcome="denied",
                 tenant_id="t2", user="b@fabrikam.com", time=t0 + timedelta(hours=1))
    log = audit.read(engine)
    assert list(log.columns) == audit.COLUMNS
    assert list(log["actor"]) == ["bob", "alice"]
    assert str(log["time"].dt.tz) == "UTC"
    assert log.iloc[1]["time"] == t0
    assert log.iloc[1]["detail"] == {"steps": [{"step": 1}]}


def test_filters(store_url):
    engine = make_engine(store_url)
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for i, (actor, action, outcome, tenant) in enumerate([
            ("alice", "onboard", "done", "t1"), ("alice", "edit", "failed", "t1"),
            ("bob", "offboard", "denied", "t2")]):
        audit.record(engine, actor=actor, role="admin", action=action, outcome=outcome,
                     tenant_id=tenant, user=f"u{i}@x.com", time=base + timedelta(days=i))
    assert len(audit.read(engine, actor="alice")) == 2
    assert list(audit.read(engine, tenant_id="t2")["action"]) == ["offboard"]
    assert list(audit.read(engine, outcome="denied")["actor"]) == ["bob"]
    assert list(audit.read(engine, user="U1@X.com")["action"]) == ["edit"]
    assert len(audit.read(engine, since=base + timedelta(hours=12))) == 2
    assert len(audit.read(engine, until="2026-03-01T12:00:00Z")) == 1
    assert len(audit.read(engine, limit=1)) == 1


def test_secrets_are_never_stored(store_url):
    engine = make_engine(store_url)
    audit.record(engine, actor="alice", role="admin", action="onboard", outcome="done",
                 detail={"user": {"password": "Hunter2-Secret!", "force_change_password": True},
                         "nested": [{"client_secret": "abc-secret-value", "token": "eyJabc"}],
                         "reset_password": True})
    with engine.connect() as conn:
        raw = " ".join(str(v) for row in conn.execute(sa.select(audit.audit_table)) for v in row)
    for secret in ("Hunter2-Secret!", "abc-secret-value", "eyJabc"):
        assert secret not in raw
    detail = audit.read(engine).iloc[0]["detail"]
    assert detail["user"] == {"password": audit.REDACTED, "force_change_password": True}
    assert detail["reset_password"] is True


def test_scrub_keeps_switches_and_empty_values():
    assert audit.scrub({"password": None, "reveal_password": False, "x": [{"secret": "s"}]}) == \
        {"password": None, "reveal_password": False, "x": [{"secret": audit.REDACTED}]}
