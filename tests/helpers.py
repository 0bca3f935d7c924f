"""Reading Graph straight from the emulator in tests, outside the code under test."""


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
    """Run a view model's coroutine action to completion, as a served page's event loop would."""
    import asyncio
    return asyncio.run(awaitable)
