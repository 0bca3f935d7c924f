"""Which page is open, for which tenant and user: the state behind the sidebar and deep links.

The app syncs `page`, `tenant` and `user` with the URL's query string, so `?tenant=...&user=...`
(and `&page=edit` or `offboard`) reopens the same view in a new tab or after a reload.
"""
from __future__ import annotations

import param

# Query value -> title. The sidebar lists the first six; the rest open from a user row.
PAGES = {
    "tenants": "All Tenants",
    "users": "All Users",
    "licenses": "Licenses",
    "create": "Create User",
    "bulk": "Bulk",
    "activity": "Activity",
    "user": "User Details",
    "edit": "Edit User",
    "offboard": "Offboard User",
}
SIDEBAR = ("tenants", "users", "licenses", "create", "bulk", "activity")
# Pages that exist to write, and the role permission (services.actors) each needs.
PAGE_NEEDS = {"create": "onboard", "edit": "edit", "offboard": "offboard", "bulk": "bulk"}


def page_allowed(page: str, actor) -> bool:
    """Whether `actor` may open `page`; the services check every write again regardless."""
    need = PAGE_NEEDS.get(page)
    return need is None or bool(actor and actor.may(need))
USER_PAGES = ("user", "edit", "offboard")


class Navigation(param.Parameterized):
    """The open page and its subject; plain state that the URL mirrors."""

    page = param.Selector(default="tenants", objects=list(PAGES), doc="The page shown in the main "
                          "area (a key of PAGES); mirrored in the URL as ?page=.")
    tenant = param.String(default="", doc="Tenant id the page is about; empty for all tenants.")
    user = param.String(default="", doc="User object id for the user pages; empty otherwise.")

    @param.depends("page")
    def title(self) -> str:
        return PAGES[self.page]

    def go(self, page: str, tenant: str | None = None, user: str | None = None) -> None:
        """Open `page`; user pages need a user, and a page without a user forgets it."""
        if page not in PAGES:
            raise ValueError(f"page must be one of {', '.join(PAGES)}, got {page!r}")
        updates = {"page": page}
        if tenant is not None:
            updates["tenant"] = tenant
        updates["user"] = (user or self.user) if page in USER_PAGES else ""
        if page in USER_PAGES and not updates["user"]:
            raise ValueError(f"the {PAGES[page]} page needs a user")
        self.param.update(**updates)

    def resolve_deep_link(self) -> None:
        """A link with a user but no user page (?tenant=&user=) opens that user's details."""
        if self.user and self.page not in USER_PAGES:
            self.page = "user"
        elif self.page in USER_PAGES and not self.user:
            self.page = "users"
