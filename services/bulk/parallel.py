"""Running a bulk job's independent pieces of work side by side.

A bulk step is mostly waiting on Graph (and, when Graph throttles, on Retry-After), so jobs keep
several in flight: onboarding's `$batch` requests (`runner.py`) and offboarding or update rows
(`jobs.py`). Graph throttles per tenant and app, hence a limit per tenant as well as overall.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable


def run_side_by_side(tasks: list[tuple[str, Callable[[], None]]], *, workers: int,
                     per_tenant: int, name: str = "m365-bulk") -> None:
    """Run (tenant_id, task) pairs, at most `workers` at once and `per_tenant` of one tenant.

    Every task runs even if another fails (its steps stay pending or failed in the journal); the
    first error is raised once all have finished. An interrupt (Ctrl-C in the caller, or a
    BaseException in a task, as a killed job looks in tests) starts no new task; tasks already
    running finish and record what they did.
    """
    if not tasks:
        return
    limits = {tenant_id: threading.Semaphore(per_tenant) for tenant_id, _ in tasks}
    stop = threading.Event()

    def run(tenant_id: str, task: Callable[[], None]) -> None:
        with limits[tenant_id]:
            if stop.is_set():
                return
            try:
                task()
            except Exception:
                raise
            except BaseException:
                stop.set()
                raise

    errors: list[Exception] = []
    with ThreadPoolExecutor(max_workers=min(workers, len(tasks)), thread_name_prefix=name) as pool:
        futures = [pool.submit(run, tenant_id, task) for tenant_id, task in tasks]
        try:
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - the other tasks still run; raised below
                    errors.append(exc)
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
    if errors:
        raise errors[0]
