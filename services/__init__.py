"""m365-dashboard services: Graph client, store, sync, workflows; no UI code here.

    from services import connect
    m365 = connect()            # or connect("m365dash.toml", actor=Actor("alice", "technician"))
    m365.sync(); m365.users()

Names are imported on first use, so `import services.config` (the CLI's --help)
does not pay for pandas and SQLAlchemy.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "connect": "services.api", "M365": "services.api",
    "SyncReport": "services.sync", "SyncFailed": "services.sync", "TenantResult": "services.sync",
    "Actor": "services.actors", "default_actor": "services.actors",
    "Config": "services.config", "load_config": "services.config",
    "M365DashError": "services.errors", "ConfigError": "services.errors",
    "GraphError": "services.errors", "PermissionDenied": "services.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'services' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
