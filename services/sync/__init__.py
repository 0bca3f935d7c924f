"""Syncing tenants into the store: discovery, a bounded pool of tenant workers, the report.

Each tenant is read completely into memory (`reader.TenantReader`) and then written in one
transaction (`Store.write`). Tenants run in parallel (I/O bound: Graph answers are the wait);
one tenant failing (no consent, 403, outage) is recorded with its reason on that tenant and in
the report, and never stops the others.
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Iterable

from sqlalchemy.exc import StatementError

from ..config import Config
from ..discovery import DiscoveredTenant, discover
from ..errors import AuthFailure, GraphError, M365DashError, PermissionDeniedByGraph, Transient
from ..graph import Graph
from ..access_check import failure_access, sync_access
from ..exchange import exchange_roles
from .mailboxes import due as mailboxes_due
from .mailboxes import read_mailboxes
from ..store import Store
from .reader import TenantReader
from .report import SyncFailed, SyncReport, TenantResult

__all__ = ["Syncer", "SyncReport", "SyncFailed", "TenantResult", "MAX_WORKERS", "tuned_for_sync"]

log = logging.getLogger(__name__)

MAX_WORKERS = 16


SWITCH_INTERVAL = 0.0005        # seconds; CPython's default is 0.005

_tuning_lock = threading.Lock()
_tunings = 0
_saved: tuple[bool, float] = (False, 0.0)


@contextmanager
def tuned_for_sync():
    """Run syncs with the interpreter tuned for many threads mixing I/O and parsing.

    - The cyclic garbage collector is paused: a sync allocates millions of small dicts (parsed
      JSON, staged rows) that reference counting frees; the collector's full passes over this
      growing heap cost a third of a 100-tenant sync's CPU and made parsing times erratic.
      A sync leaves few reference cycles (about 40 small objects per tenant: closures and
      SQLAlchemy bind parameters), so they are collected once, when the last sync ends. (A young
      collection after each tenant, as before, walked the other tenants' pages in flight while
      holding the GIL: 0.8-1.4 s of CPU, up to 3 s of wall, in a 100-tenant sync.)
    - The GIL switch interval drops to 0.5 ms: every SQLite statement and TLS read releases the
      GIL, and getting it back waited up to the default 5 ms behind threads parsing JSON. The
      store's single writer paid that wait for each statement, and all tenants queue behind it.
    Both are restored when the last concurrent sync ends (nesting and threads are allowed).
    """
    global _tunings, _saved
    with _tuning_lock:
        if _tunings == 0:
            _saved = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(min(_saved[1], SWITCH_INTERVAL))
        _tunings += 1
    try:
        yield
    finally:
        with _tuning_lock:
            _tunings -= 1
            last = _tunings == 0
            if last:
                sys.setswitchinterval(_saved[1])
                if _saved[0]:
                    gc.enable()
        if last:
            collect_young()


def collect_young() -> None:
    """Collect the two young generations only: it frees the sync's cycles without walking the
    old heap (the objects that survived earlier collections)."""
    gc.collect(1)


def failure_reason(exc: BaseException) -> str:
    """A one-line reason a technician can act on; never holds a token or secret."""
    if isinstance(exc, StatementError):
        # SQLAlchemy's text carries the statement's parameters (whole user rows): leave them out.
        orig = exc.orig or exc
        return f"store error: {type(orig).__name__}: {str(orig)[:300]}"
    if isinstance(exc, AuthFailure):
        # Its message already says which tenant and app, and what to check (secret, consent).
        return f"no access token: {exc}"
    if isinstance(exc, PermissionDeniedByGraph):
        return f"permission denied by Graph (admin consent or GDAP role missing?): {exc}"
    if isinstance(exc, Transient):
        return f"Graph unavailable: {exc}"
    if isinstance(exc, (GraphError, M365DashError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Syncer:
    def __init__(self, graph: Graph, store: Store, config: Config, *, max_workers: int = MAX_WORKERS):
        self.graph, self.store, self.config = graph, store, config
        self.max_workers = max_workers
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _tenant_lock(self, tenant_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def discover(self) -> list[DiscoveredTenant]:
        """Refresh the store's tenant registry from the config or the partner's relationships."""
        found = discover(self.graph, self.config)
        self.store.save_discovered(found)
        return found

    def run(self, tenant_ids: Iterable[str] | None = None, *, full: bool = False,
            progress: bool = True) -> SyncReport:
        """Sync the given tenants, or every discovered tenant whose sync is on."""
        with tuned_for_sync():
            return self._run(tenant_ids, full, progress)

    def _run(self, tenant_ids, full: bool, progress: bool) -> SyncReport:
        started = time.monotonic()
        before = self.graph.stats.total()
        report = SyncReport()
        if tenant_ids is None:
            try:
                self.discover()
            except GraphError as exc:
                # Discovery failed: sync the tenants already known rather than nothing.
                log.warning("tenant discovery failed: %s", exc)
                report.errors["discovery"] = failure_reason(exc)
            ids = [r["tenant_id"] for r in self.store.tenant_rows() if r["sync_enabled"]]
        else:
            ids = list(dict.fromkeys(tenant_ids))
        report.results = self._run_all(ids, full, progress)
        for result in report.results:
            report.objects += result.objects
            if result.ok:
                report.tenants += 1
            else:
                report.errors[result.tenant_id] = result.error or "failed"
        report.requests = self.graph.stats.total() - before
        report.seconds = time.monotonic() - started
        return report

    def _run_all(self, ids: list[str], full: bool, progress: bool) -> list[TenantResult]:
        from tqdm.auto import tqdm     # tqdm.auto: a widget in notebooks, a bar in terminals

        names = {r["tenant_id"]: r["display_name"] for r in self.store.tenant_rows(active_only=False)}
        results: dict[str, TenantResult] = {}
        bar = tqdm(total=len(ids), desc="sync", unit="tenant", disable=not progress, leave=True)
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(ids) or 1)),
                                  thread_name_prefix="sync")
        try:
            futures = [pool.submit(self.sync_tenant, tid, full=full, name=names.get(tid))
                       for tid in ids]
            failed = 0
            for future in as_completed(futures):
                result = future.result()
                results[result.tenant_id] = result
                failed += not result.ok
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed)
        finally:
            # On Ctrl-C, tenants not yet started are dropped; those under way finish their
            # transaction (or roll it back), so the store stays consistent.
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        return [results[tid] for tid in ids]

    def sync_tenant(self, tenant_id: str, *, full: bool = False, name: str | None = None) -> TenantResult:
        """Read and write one tenant; any failure becomes the result's `error`."""
        result = TenantResult(tenant_id, name)
        started = time.monotonic()
        client = self.graph.tenant(tenant_id)
        with tuned_for_sync(), self._tenant_lock(tenant_id):
            before = client.request_count
            claims = None
            try:
                # The token's claims say what the app was granted there (never the token).
                claims = self.graph.tokens.claims(tenant_id)
                reader = TenantReader(client, self.store, full=full,
                                      app_principal=claims.get("oid"))
                snapshot = reader.read()
                exchange = exchange_roles(self.graph.tokens, tenant_id)
                snapshot.access = sync_access(claims, snapshot, exchange)
                if mailboxes_due(reader):
                    read_mailboxes(client, snapshot, exchange)
                self.store.write(snapshot)
            except Exception as exc:  # noqa: BLE001 - one tenant's failure must not stop the rest
                result.error = failure_reason(exc)[:1000]
                if isinstance(exc, M365DashError):
                    log.warning("sync of tenant %s failed: %s", tenant_id, result.error)
                else:
                    log.exception("sync of tenant %s failed unexpectedly", tenant_id)
                self._note_failure(tenant_id, result.error)
                self._note_access(tenant_id, exc, claims, result)
            else:
                result.ok = True
                result.access = snapshot.access.get("access")
                result.warnings = snapshot.warnings
                result.objects = snapshot.objects
                modes = set(snapshot.resources().values())
                result.mode = modes.pop() if len(modes) == 1 else "mixed"
                org = snapshot.organization or {}
                result.display_name = org.get("display_name") or name
                result.users, result.groups = self.store.counts(tenant_id)
            finally:
                result.requests = client.request_count - before
                result.seconds = time.monotonic() - started
        return result

    def _note_access(self, tenant_id: str, exc: BaseException, claims, result) -> None:
        values = failure_access(exc, claims)
        if not values:
            return
        result.access = values.get("access")
        try:
            self.store.record_access(tenant_id, values)
        except Exception as err:  # noqa: BLE001 - the store may be what failed; say so, go on
            log.error("could not record the access of tenant %s in the store: %s", tenant_id, err)

    def _note_failure(self, tenant_id: str, reason: str) -> None:
        try:
            self.store.record_failure(tenant_id, reason)
        except Exception as exc:  # noqa: BLE001 - the store may be what failed; report both
            log.error("could not record the failure of tenant %s in the store: %s", tenant_id, exc)
