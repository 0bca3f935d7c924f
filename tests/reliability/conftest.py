"""One emulated tenant per test module, synced: the bad-input suites check that nothing is written."""
from __future__ import annotations

import pytest

from emulator import Emulator
from services import connect

WRITE_STATUSES = (201, 204)


@pytest.fixture(scope="module")
def emu(request, tmp_path_factory):
    """1 tenant x 10 users; a module picks its data with a module-level SEED."""
    seed = getattr(request.module, "SEED", 53)
    with Emulator(tenants=1, users_per_tenant=10, seed=seed,
                  state_dir=tmp_path_factory.mktemp(f"{request.module.__name__.split('.')[-1]}-emu")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path)
    assert client.sync(progress=False).ok
    yield client
    client.close()


def write_count(emu) -> int:
    """Write answers (201, 204) the emulator has given so far."""
    statuses = emu.stats()["statuses"]
    return sum(statuses.get(s, 0) for s in WRITE_STATUSES)
