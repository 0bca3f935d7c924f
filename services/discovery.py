"""Which customer tenants to sync: the config's `[[tenants]]` list, or the partner's customers.

Partner mode asks the partner tenant for its active GDAP relationships (one customer may have
several relationships: they are merged). Partners still on legacy DAP/CSP have none, or the app
lacks the GDAP read permission, so an empty or refused answer falls back to `/contracts`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import Config
from .errors import ConfigError, GraphError, PermissionDeniedByGraph
from .graph import Graph

log = logging.getLogger(__name__)

GDAP_PATH = "tenantRelationships/delegatedAdminRelationships"
CONTRACTS_PATH = "contracts"


@dataclass(frozen=True)
class DiscoveredTenant:
    tenant_id: str
    display_name: str | None = None
    default_domain: str | None = None
    source: str = "config"        # config | gdap | contract


def configured_tenants(config: Config) -> list[DiscoveredTenant]:
    return [DiscoveredTenant(t.tenant_id.lower(), t.display_name, None, "config")
            for t in config.tenants]


def discover(graph: Graph, config: Config) -> list[DiscoveredTenant]:
    """The tenants to sync, in a stable order; raises GraphError when the partner answers neither."""
    if config.tenants:
        return configured_tenants(config)
    partner = config.graph.partner_tenant_id
    if not partner:
        raise ConfigError("set partner_tenant_id (GDAP discovery) or list [[tenants]]",
                          key="graph.partner_tenant_id", path=config.path)
    client = graph.tenant(partner)
    gdap_error: GraphError | None = None
    try:
        found = _gdap(client)
    except GraphError as exc:
        if isinstance(exc, PermissionDeniedByGraph) or exc.status in (400, 404):
            gdap_error, found = exc, []
        else:
            raise
    if found:
        return found
    log.info("no active GDAP relationships%s; trying contracts",
             f" ({gdap_error.status} {gdap_error.code})" if gdap_error else "")
    try:
        return _contracts(client)
    except GraphError:
        if gdap_error is not None:
            raise gdap_error from None    # the GDAP refusal explains more than the contracts one
        raise


def _gdap(client) -> list[DiscoveredTenant]:
    by_id: dict[str, DiscoveredTenant] = {}
    for rel in client.pages(GDAP_PATH, params={"$filter": "status eq 'active'"}):
        customer = rel.get("customer") or {}
        tid = (customer.get("tenantId") or "").lower()
        if not tid or rel.get("status", "active") != "active":
            continue
        by_id.setdefault(tid, DiscoveredTenant(tid, customer.get("displayName"), None, "gdap"))
    return sorted(by_id.values(), key=lambda t: ((t.display_name or "").lower(), t.tenant_id))


def _contracts(client) -> list[DiscoveredTenant]:
    by_id: dict[str, DiscoveredTenant] = {}
    for contract in client.pages(CONTRACTS_PATH):
        tid = (contract.get("customerId") or "").lower()
        if tid:
            by_id.setdefault(tid, DiscoveredTenant(tid, contract.get("displayName"),
                                                   contract.get("defaultDomainName"), "contract"))
    return sorted(by_id.values(), key=lambda t: ((t.display_name or "").lower(), t.tenant_id))
