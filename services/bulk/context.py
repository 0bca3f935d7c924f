"""What a bulk job needs to know about a tenant, read live from Graph once per tenant.

Validating 1,000 rows one Graph call at a time would cost thousands of requests; instead each
tenant's facts (domains, SKUs, groups, roles: the same snapshot a single onboarding plan uses)
and its existing user names are read once, and every row is checked against them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import TenantGraph
from ..workflows.resolve import TenantFacts, load_facts


@dataclass
class BulkContext:
    facts: TenantFacts
    taken: set[str] = field(default_factory=set)              # lower-case UPNs and "nick:" nicknames
    upn_to_id: dict[str, str] = field(default_factory=dict)   # lower-case UPN -> object id

    def seats_left(self, sku_id: str) -> int:
        return self.facts.seats(sku_id)[2]


def load_context(client: TenantGraph) -> BulkContext:
    ctx = BulkContext(load_facts(client))
    for user in client.pages("users", params={"$select": "id,userPrincipalName,mailNickname",
                                              "$top": "999"}):
        upn = (user.get("userPrincipalName") or "").lower()
        ctx.taken.add(upn)
        ctx.upn_to_id[upn] = user["id"]
        if user.get("mailNickname"):
            ctx.taken.add("nick:" + user["mailNickname"].lower())
    return ctx
