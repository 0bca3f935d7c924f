"""UiThread: view-model changes made by a worker run on the session's event loop, and a worker
whose browser session has ended does not hang waiting for a loop that will never run them."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dashboard.views.common import UiThread


@pytest.fixture
def session_loop():
    """An event loop running in its own thread, like a served session's, and a UiThread made on it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def make():
        return UiThread()
    ui = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=10)
    yield loop, thread, ui
    if loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def test_ui_thread_runs_worker_changes_on_the_session_loop(session_loop):
    loop, thread, ui = session_loop
    ran_on = []
    assert ui.call(lambda: ran_on.append(threading.get_ident()) or "done") == "done"
    assert ran_on == [thread.ident]


def test_ui_thread_passes_the_change_error_back_to_the_worker(session_loop):
    _, _, ui = session_loop

    def bad():
        raise ValueError("department: too long")
    with pytest.raises(ValueError, match="department"):
        ui.call(bad)


def test_ui_thread_worker_finishes_itself_after_the_session_closed(session_loop):
    loop, thread, ui = session_loop
    loop.call_soon_threadsafe(loop.stop)      # the server stopped serving this session
    thread.join(timeout=10)
    threading.Timer(0.3, ui.closed.set).start()
    ran_on = []
    started = time.monotonic()
    assert ui.call(lambda: ran_on.append(threading.get_ident()) or "done") == "done"
    # Not the 120 s timeout: the change is made by the worker itself, once.
    assert time.monotonic() - started < 5
    assert ran_on == [threading.get_ident()]
