"""The module's emulated world for integration tests: `emu`, `m365` (as an admin) and `tid`.

A module says what world it needs in `EMULATOR` (Emulator keyword arguments, e.g.
`EMULATOR = {"tenants": 2, "users_per_tenant": 30, "seed": 7}`); a module that needs something
else defines its own fixtures of these names, which take precedence.
"""
from __future__ import annotations

import pytest

from emulator import Emulator
from services import Actor, connect

ADMIN = Actor("admin@msp.example", role="admin")


@pytest.fixture(scope="module")
def emu(request, tmp_path_factory):
    options = {"tenants": 2, "users_per_tenant": 16, "seed": 7,
               **getattr(request.module, "EMULATOR", {})}
    name = request.module.__name__.rsplit(".", 1)[-1]
    with Emulator(state_dir=tmp_path_factory.mktemp(f"{name}-emu"), **options) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path, actor=ADMIN)
    client.sync(progress=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def tid(emu):
    return emu.tenant_ids[0]
