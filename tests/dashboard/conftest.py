"""View-model tests drive the real `connect()` against the emulator; no server, no browser.

One emulated world per test module (`world`: an Emulator with 3 tenants x 40 users, connected
and synced once), shared by every test of the module: a test that writes (onboards a user, edits,
changes a setting) leaves its change for the module's later tests, so tests use unique names
(`make_user` counts across the module) and count relative to what is there. A test that needs
another actor gets the shared world's M365 as that actor (`make_world(actor=...)`); only a test
that needs other tenant or user counts gets a world of its own.
"""
from __future__ import annotations

import itertools

import pytest

from emulator import Emulator
from services import Actor, connect

TENANTS, USERS = 3, 40


def _open_world(tenants: int, users: int, actor: Actor | None = None):
    emu = Emulator(tenants=tenants, users_per_tenant=users, seed=7).start()
    m365 = None
    try:
        m365 = connect(emu.config_path, actor=actor)
        m365.sync(progress=False)
    except BaseException:
        if m365 is not None:
            m365.close()
        emu.stop()
        raise
    return emu, m365


@pytest.fixture(scope="module")
def world():
    """(emulator, m365): the module's shared world, synced; closed after the module."""
    emu, m365 = _open_world(TENANTS, USERS)
    yield emu, m365
    m365.close()
    emu.stop()


@pytest.fixture
def make_world(request):
    """make_world(actor=None, tenants=3, users=40) -> (emulator, m365), synced.

    With the default counts: the module's shared world, as `actor` when one is given (the same
    store and Graph client; `M365.as_actor`). Other counts: a world of the test's own, closed
    after the test."""
    opened = []

    def make(actor: Actor | None = None, tenants: int = TENANTS, users: int = USERS):
        if (tenants, users) == (TENANTS, USERS):
            emu, m365 = request.getfixturevalue("world")
            return emu, (m365.as_actor(actor) if actor is not None else m365)
        emu, m365 = _open_world(tenants, users, actor)
        opened.append((emu, m365))
        return emu, m365

    yield make
    for emu, m365 in opened:
        m365.close()
        emu.stop()


@pytest.fixture
def make_vm(world):
    """make_vm(cls, **params): a view model on the shared world's M365 object."""
    _emu, m365 = world

    def make(cls, **params):
        return cls(m365=m365, **params)

    return make


@pytest.fixture(scope="module")
def _user_numbers():
    """Numbers for `make_user`, counted across the module (its world is shared)."""
    return itertools.count(1)


@pytest.fixture
def make_user(world, _user_numbers):
    """make_user(**fields) -> the new user's id: onboarded through the services workflow, named
    test.user<N> with N unique in the module (pass username=... to choose the name)."""
    emu, m365 = world

    def make(tenant=None, licenses=(), groups=(), **fields):
        tenant = tenant or emu.tenant_ids[0]
        n = next(_user_numbers)
        domain = m365.domains(tenant)["domain"].iloc[0]
        user = {"given_name": "Test", "surname": f"User{n}",
                "username": f"test.user{n}", "domain": domain, "usage_location": "US",
                **fields}
        result = m365.plan_onboarding(tenant, user=user, licenses=list(licenses),
                                      groups=list(groups)).apply()
        assert result.ok, result
        return result.user_id

    return make
