"""run_side_by_side: bulk work in flight together, within limits; failures and interrupts."""
from __future__ import annotations

import threading
import time

import pytest

from services.bulk.parallel import run_side_by_side


def recorder():
    """(task factory, record): each task notes how many tasks of its tenant and overall run."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0, "by_tenant": {}, "most_by_tenant": {}, "done": []}

    def task(tenant: str, name: str, fail: BaseException | None = None):
        def run():
            with lock:
                state["now"] += 1
                state["by_tenant"][tenant] = state["by_tenant"].get(tenant, 0) + 1
                state["most"] = max(state["most"], state["now"])
                state["most_by_tenant"][tenant] = max(state["most_by_tenant"].get(tenant, 0),
                                                      state["by_tenant"][tenant])
            try:
                time.sleep(0.05)
                if fail is not None:
                    raise fail
                state["done"].append(name)
            finally:
                with lock:
                    state["now"] -= 1
                    state["by_tenant"][tenant] -= 1
        return tenant, run
    return task, state


def test_run_side_by_side_keeps_within_the_overall_and_per_tenant_limits():
    task, state = recorder()
    tasks = [task(t, f"{t}{i}") for t in ("a", "b", "c") for i in range(6)]
    run_side_by_side(tasks, workers=4, per_tenant=2)
    assert sorted(state["done"]) == sorted(f"{t}{i}" for t in "abc" for i in range(6))
    assert 1 < state["most"] <= 4
    assert max(state["most_by_tenant"].values()) <= 2


def test_run_side_by_side_runs_every_task_and_raises_the_first_error_after():
    task, state = recorder()
    tasks = [task("a", "a0"), task("a", "a1", fail=ValueError("row 3: user not found")),
             task("b", "b0"), task("b", "b1")]
    with pytest.raises(ValueError, match="row 3"):
        run_side_by_side(tasks, workers=2, per_tenant=2)
    assert sorted(state["done"]) == ["a0", "b0", "b1"]


def test_run_side_by_side_starts_nothing_new_after_an_interrupt():
    task, state = recorder()
    tasks = [task("a", "first", fail=KeyboardInterrupt())] + [task("a", f"later{i}") for i in range(5)]
    with pytest.raises(KeyboardInterrupt):
        run_side_by_side(tasks, workers=1, per_tenant=1)
    assert state["done"] == []
