"""Reading Graph straight from the emulator in tests, outside the code under test."""


class RawGraph:
    """Graph seen from outside our client (another technician, the admin center): plain HTTP
    with the tenant's token."""

    def __init__(self, emu, tenant_id):
        self.emu, self.session = emu, emu.session(tenant_id)

    def __call__(self, method, path, **kw):
        return self.session.request(method, f"{self.emu.graph_url}/{path}",
                                    verify=str(self.emu.ca_file), **kw)

    def json(self, method, path, **kw):
        resp = self(method, path, **kw)
        assert resp.status_code < 400, resp.text
        return resp.json() if resp.content else None

    def values(self, path, **params):
        return self.json("GET", path, params=params or None)["value"]

    def user(self, upn_or_id, select="id,userPrincipalName,accountEnabled,department,jobTitle,"
                                      "mobilePhone,usageLocation,assignedLicenses"):
        resp = self("GET", f"users/{upn_or_id}", params={"$select": select})
        return resp.json() if resp.status_code == 200 else None

    def count_upn(self, upn):
        body = self.json("GET", "users", params={"$filter": f"userPrincipalName eq '{upn}'",
                                                 "$select": "id"})
        return len(body["value"])

    def group_ids(self, user_id):
        return {g["id"] for g in self.json("GET", f"users/{user_id}/memberOf")["value"]
                if g.get("@odata.type") == "#microsoft.graph.group"}

    def role_ids(self, user_id):
        body = self.json("GET", "roleManagement/directory/roleAssignments",
                         params={"$filter": f"principalId eq '{user_id}'"})
        return {a["roleDefinitionId"] for a in body["value"]}


def graph_all(emu, tenant_id, path, **params):
    """Every item of a Graph collection, following @odata.nextLink."""
    out, url = [], f"{emu.graph_url}/{path}"
    while url:
        resp = emu.session(tenant_id).get(url, params=params, verify=str(emu.ca_file))
        resp.raise_for_status()
        body = resp.json()
        out += body["value"]
        url, params = body.get("@odata.nextLink"), None
    return out


def run(awaitable):
    """Run a view model's coroutine action to completion, as a served page's event loop would.
    In a thread of its own when this thread already runs a loop (Playwright's sync API keeps one
    running in the test process)."""
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(awaitable)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, awaitable).result()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll `predicate()` until it returns something truthy, and return that; after `timeout`
    seconds fail the test (instead of sleeping a fixed time and hoping it was long enough)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"{name} did not hold within {timeout} s")
        time.sleep(interval)


def emulated_world(state_dir, *, tenants: int = 3, users: int = 40, seed: int = 7,
                   **emulator_options):
    """A context manager: (emulator, m365) for a started emulator, connected and synced;
    closed and stopped on exit. For module-scoped fixtures of tests that need a small world;
    `emulator_options` go to Emulator (e.g. access_traps=True)."""
    from contextlib import contextmanager

    @contextmanager
    def world():
        from emulator import Emulator
        from services import connect
        emu = Emulator(tenants=tenants, users_per_tenant=users, seed=seed,
                       state_dir=state_dir, **emulator_options).start()
        m365 = connect(emu.config_path)
        try:
            m365.sync(progress=False)
            yield emu, m365
        finally:
            m365.close()
            emu.stop()
    return world()
