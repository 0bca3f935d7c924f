"""The emulated cloud: every tenant, built from the seed or loaded from the state folder.

A world is identified by its seed and sizes; its folder under `state_dir/worlds/` holds
`world.json` (a nonce that delta tokens carry, the delta-token epoch) and one pickle per tenant
that was changed. Unchanged tenants are rebuilt from the seed, identically, at each start.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import secrets
from pathlib import Path

from . import demo
from .model import Tenant

log = logging.getLogger(__name__)
FORMAT = 1


class World:
    def __init__(self, *, seed: int, tenants: int, users_per_tenant: int | None,
                 groups_per_tenant: int, state_dir: Path | None):
        self.seed, self.groups_per_tenant = seed, groups_per_tenant
        self.partner, self.customers, self.former = demo.plan_world(seed, tenants, users_per_tenant)
        self.served = {i.id: i for i in [self.partner, *self.customers]}
        self.known = {**self.served, self.former.id: self.former}
        self.by_domain = {name.lower(): info for info in self.known.values()
                          for name, verified, _, _ in info.domains if verified}
        self.tenants: dict[str, Tenant] = {}
        key = f"seed{seed}-t{tenants}-u{users_per_tenant or 'demo'}-g{groups_per_tenant}-v{FORMAT}"
        self.folder = Path(state_dir) / "worlds" / key if state_dir else None
        self.nonce, self.delta_epoch = secrets.token_hex(4), 0
        self._load_meta()

    # -- tenants ----------------------------------------------------------------------------
    def resolve(self, name: str):
        """A known tenant's info by id or verified domain (Entra accepts both in URLs)."""
        key = (name or "").lower()
        return self.known.get(key) or self.by_domain.get(key)

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            info = self.served[tenant_id]
            tenant = self._load(info) or self._build(info)
            self.tenants[tenant_id] = tenant
        return tenant

    def build_all(self) -> None:
        for tenant_id in self.served:
            self.tenant(tenant_id)

    def _build(self, info) -> Tenant:
        tenant = demo.build_tenant(info, self.seed, self.groups_per_tenant)
        if info.kind == "partner":
            demo.link_partner(tenant, self.customers, self.former, self.seed)
        tenant.dirty = False
        return tenant

    # -- persistence ------------------------------------------------------------------------
    def _load_meta(self) -> None:
        if self.folder is None:
            return
        meta = self.folder / "world.json"
        if meta.exists():
            data = json.loads(meta.read_text(encoding="utf-8"))
            self.nonce, self.delta_epoch = data["nonce"], int(data.get("delta_epoch", 0))
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.save_meta()

    def save_meta(self) -> None:
        if self.folder is not None:
            _write(self.folder / "world.json",
                   json.dumps({"nonce": self.nonce, "delta_epoch": self.delta_epoch}).encode())

    def _load(self, info) -> Tenant | None:
        path = self.folder / f"{info.id}.pickle" if self.folder else None
        if path is None or not path.exists():
            return None
        try:
            with path.open("rb") as fh:
                tenant = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            # A snapshot cut short (killed mid-write before the rename) or from an older build:
            # rebuild the tenant from the seed rather than refuse to start.
            log.warning("ignoring unreadable snapshot %s: %s", path.name, exc)
            return None
        tenant.info = info
        tenant.dirty = False
        return tenant

    def save(self) -> int:
        """Write every changed tenant; returns how many were written."""
        if self.folder is None:
            return 0
        written = 0
        for tenant in list(self.tenants.values()):
            if tenant.dirty:
                tenant.dirty = False
                info, tenant.info = tenant.info, None
                try:
                    data = pickle.dumps(tenant, protocol=pickle.HIGHEST_PROTOCOL)
                finally:
                    tenant.info = info
                _write(self.folder / f"{tenant.id}.pickle", data)
                written += 1
        return written

    def expire_delta_tokens(self) -> None:
        self.delta_epoch += 1
        self.save_meta()


def _write(path: Path, data: bytes) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
