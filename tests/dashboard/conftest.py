"""View-model tests drive the real `connect()` against the emulator; no server, no browser."""
from __future__ import annotations

import pytest

from services import Actor, connect
from services.emulator import Emulator


@pytest.fixture
def make_world():
    """make_world(actor=None, tenants=3, users=40) -> (emulator, m365), synced; closed after."""
    opened = []

    def make(actor: Actor | None = None, tenants: int = 3, users: int = 40):
        emu = Emulator(tenants=tenants, users_per_tenant=users, seed=7).start()
        m365 = connect(emu.config_path, actor=actor)
        opened.append((emu, m365))
        m365.sync(progress=False)
        return emu, m365

    yield make
    for emu, m365 in opened:
        m365.close()
        emu.stop()


@pytest.fixture
def world(make_world):
    return make_world()


@pytest.fixture
def make_vm(world):
    """make_vm(cls, **params): a view model on the shared world's M365 object."""
    _emu, m365 = world

    def make(cls, **params):
        return cls(m365=m365, **params)

    return make


@pytest.fixture
def make_user(world):
    """make_user(**fields) -> the new user's id: onboarded through the services workflow."""
    emu, m365 = world
    count = [0]

    def make(tenant=None, licenses=(), groups=(), **fields):
        tenant = tenant or emu.tenant_ids[0]
        count[0] += 1
        domain = m365.domains(tenant)["domain"].iloc[0]
        user = {"given_name": "Test", "surname": f"User{count[0]}",
                "username": f"test.user{count[0]}", "domain": domain, "usage_location": "US",
                **fields}
        result = m365.plan_onboarding(tenant, user=user, licenses=list(licenses),
                                      groups=list(groups)).apply()
        assert result.ok, result
        return result.user_id

    return make
