"""Reading `m365dash.toml`.

Lookup order: an explicit path, else `$M365DASH_CONFIG`, else `$M365DASH_HOME/m365dash.toml`
(`M365DASH_HOME` defaults to `~/.m365dash`). Secrets may be given as `env:NAME` or `file:PATH`
so that the file itself can be shared or versioned without them.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
# Exchange Online's admin REST API (docs/EXCHANGE.md); the emulator writes its own.
DEFAULT_EXCHANGE_URL = "https://outlook.office365.com/adminapi/beta"


def home() -> Path:
    return Path(os.environ.get("M365DASH_HOME") or Path.home() / ".m365dash").expanduser()


def default_config_path() -> Path:
    env = os.environ.get("M365DASH_CONFIG")
    return Path(env).expanduser() if env else home() / "m365dash.toml"


class Secret:
    """A secret value that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class GraphSettings:
    client_id: str
    client_secret: Secret | None = None
    certificate: Path | None = None
    certificate_thumbprint: str | None = None
    authority_host: str = DEFAULT_AUTHORITY
    graph_url: str = DEFAULT_GRAPH_URL
    exchange_url: str = DEFAULT_EXCHANGE_URL
    partner_tenant_id: str | None = None
    # `m365dash consent --push` (CSP partners): Partner Center's API and the public client app
    # a partner admin signs in with by device code (default: client_id, with public client
    # flows allowed on its registration).
    partner_center_url: str = DEFAULT_PARTNER_CENTER
    partner_center_client_id: str | None = None
    ca_file: Path | None = None
    max_connections: int = 32
    call_deadline: float = 120.0
    max_retries: int = 8


@dataclass(frozen=True)
class TenantEntry:
    tenant_id: str
    display_name: str | None = None


@dataclass(frozen=True)
class Config:
    graph: GraphSettings
    store_url: str
    tenants: tuple[TenantEntry, ...] = ()
    path: Path | None = None
    extra: dict = field(default_factory=dict)


def _resolve_secret(raw, key: str, path: Path) -> Secret:
    if not isinstance(raw, str) or not raw:
        raise ConfigError("must be a non-empty string (a literal, 'env:NAME' or 'file:PATH')",
                          key=key, path=path)
    if raw.startswith("env:"):
        name = raw[4:]
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"refers to environment variable {name}, which is not set",
                              key=key, path=path)
        return Secret(value)
    if raw.startswith("file:"):
        secret_path = (path.parent / Path(raw[5:]).expanduser())
        try:
            return Secret(secret_path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {secret_path}: {exc.strerror}",
                              key=key, path=path) from None
    return Secret(raw)


def _str(section: dict, name: str, prefix: str, path: Path, *, required=False, default=None):
    value = section.get(name, default)
    key = f"{prefix}.{name}"
    if value is None:
        if required:
            raise ConfigError("is missing", key=key, path=path)
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", key=key, path=path)
    return value.strip()


def _url(section: dict, name: str, prefix: str, path: Path, default: str) -> str:
    value = _str(section, name, prefix, path, default=default)
    if not value.startswith("https://"):
        raise ConfigError(f"must be an https:// URL, got {value!r}", key=f"{prefix}.{name}", path=path)
    return value.rstrip("/")


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file; every problem names the key and the file."""
    cfg_path = Path(path).expanduser() if path else default_config_path()
    if not cfg_path.exists():
        raise ConfigError("configuration file not found; create it or pass --config "
                          "(run `m365dash emulator` for a ready-made one)", path=cfg_path)
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", path=cfg_path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read: {exc}", path=cfg_path) from None
    return parse_config(data, cfg_path)


def parse_config(data: dict, cfg_path: Path) -> Config:
    graph = data.get("graph")
    if not isinstance(graph, dict):
        raise ConfigError("section [graph] is missing", key="graph", path=cfg_path)
    client_id = _str(graph, "client_id", "graph", cfg_path, required=True)
    secret = certificate = None
    if "client_secret" in graph:
        secret = _resolve_secret(graph["client_secret"], "graph.client_secret", cfg_path)
    # `certificate_path` (documented) or `certificate` (its older name): one PEM file holding
    # the certificate and its private key; `certificate_thumbprint` optionally pins its SHA-1.
    cert_key = next((k for k in ("certificate_path", "certificate") if k in graph), None)
    if cert_key:
        certificate = Path(_str(graph, cert_key, "graph", cfg_path)).expanduser()
        if not certificate.is_absolute():
            certificate = cfg_path.parent / certificate
        if not certificate.is_file():
            raise ConfigError(f"certificate file {certificate} does not exist",
                              key=f"graph.{cert_key}", path=cfg_path)
    if secret is None and certificate is None:
        raise ConfigError("one of client_secret or certificate_path is required",
                          key="graph.client_secret", path=cfg_path)
    ca_file = _str(graph, "ca_file", "graph", cfg_path)
    if ca_file:
        ca_path = Path(ca_file).expanduser()
        if not ca_path.is_absolute():
            ca_path = cfg_path.parent / ca_path
        if not ca_path.exists():
            raise ConfigError(f"CA file {ca_path} does not exist", key="graph.ca_file", path=cfg_path)
    else:
        ca_path = None
    settings = GraphSettings(
        client_id=client_id,
        client_secret=secret,
        certificate=certificate,
        certificate_thumbprint=_str(graph, "certificate_thumbprint", "graph", cfg_path),
        authority_host=_url(graph, "authority_host", "graph", cfg_path, DEFAULT_AUTHORITY),
        graph_url=_url(graph, "graph_url", "graph", cfg_path, DEFAULT_GRAPH_URL),
        exchange_url=_url(graph, "exchange_url", "graph", cfg_path, DEFAULT_EXCHANGE_URL),
        partner_tenant_id=_str(graph, "partner_tenant_id", "graph", cfg_path),
        partner_center_url=_url(graph, "partner_center_url", "graph", cfg_path,
                                DEFAULT_PARTNER_CENTER),
        partner_center_client_id=_str(graph, "partner_center_client_id", "graph", cfg_path),
        ca_file=ca_path,
        max_connections=_positive_int(graph, "max_connections", cfg_path, 32),
        call_deadline=float(_positive_int(graph, "call_deadline_seconds", cfg_path, 120)),
        max_retries=_positive_int(graph, "max_retries", cfg_path, 8),
    )
    store = data.get("store", {})
    if not isinstance(store, dict):
        raise ConfigError("must be a table", key="store", path=cfg_path)
    store_url = _str(store, "url", "store", cfg_path) or f"sqlite:///{home() / 'store.db'}"
    tenants_raw = data.get("tenants", [])
    if not isinstance(tenants_raw, list):
        raise ConfigError("must be an array of tables ([[tenants]])", key="tenants", path=cfg_path)
    tenants = []
    for i, entry in enumerate(tenants_raw):
        if not isinstance(entry, dict):
            raise ConfigError("must be a table", key=f"tenants[{i}]", path=cfg_path)
        tenants.append(TenantEntry(
            tenant_id=_str(entry, "tenant_id", f"tenants[{i}]", cfg_path, required=True),
            display_name=_str(entry, "display_name", f"tenants[{i}]", cfg_path)))
    if not tenants and not settings.partner_tenant_id:
        raise ConfigError("set partner_tenant_id (GDAP discovery) or list [[tenants]]",
                          key="graph.partner_tenant_id", path=cfg_path)
    return Config(graph=settings, store_url=store_url, tenants=tuple(tenants), path=cfg_path)


def _positive_int(section: dict, name: str, path: Path, default: int) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"must be a positive integer, got {value!r}", key=f"graph.{name}", path=path)
    return value
