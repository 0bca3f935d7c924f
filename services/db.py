"""The store's engine and shared table metadata.

Every module that keeps tables (sync snapshot, audit log, bulk journal) defines them on
`metadata`, so one `create_schema()` creates and upgrades them all on first use.
"""
from __future__ import annotations

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine

metadata = MetaData()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL so readers never wait on a sync's write."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
