"""The dashboard's pages in one table, and the navigation state the URL and the sidebar follow.

`PAGES` maps each page (its `?page=` value) to its title, the role permission it needs, its
view model, its view and its loader; the session (dashboard.app) reads nothing else to route,
build the sidebar or refuse a page. `Navigation` is the open page, tenant and user: the URL's
query string, the sidebar and the pages' tenant pickers are all bound to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import param
from panel.io.state import state

from . import viewmodels as vms
from . import views


@dataclass(frozen=True)
class Page:
    """One page of the dashboard."""

    title: str
    model: str                  # key of the session's view model (pages may share one)
    view: Callable              # (session, view model) -> the page's Viewer
    load: Callable              # (view model, tenant, user) -> None: ready the model to show
    needs: str | None = None    # role permission (services.actors) to open it; None: everyone
    sidebar: bool = False       # listed in the sidebar
    user_page: bool = False     # about one user: needs ?user=
    lit: str = ""               # the sidebar entry lit while it is open ('' : its own)


def _load_users(vm, tenant: str, _user: str) -> None:
    vm.show_tenant(tenant)


def _load_user(vm, tenant: str, user: str) -> None:
    if vm.load(tenant, user):
        state.execute(vm.load_live)     # devices and sign-ins arrive once Graph answers


def _load_licenses(vm, tenant: str, _user: str) -> None:
    vm.refresh()
    if tenant in vm.param.tenant.objects.values():
        vm.tenant = tenant


# Models: the view model classes a session makes, one instance each.
MODELS = {"overview": vms.OverviewViewModel, "tenants": vms.TenantsViewModel, "users": vms.UsersViewModel,
          "user": vms.UserDetailsViewModel, "licenses": vms.LicensesViewModel,
          "form": vms.UserFormViewModel, "offboard": vms.OffboardViewModel,
          "bulk": vms.BulkViewModel, "activity": vms.ActivityViewModel}

PAGES: dict[str, Page] = {
    "overview": Page("Overview", "overview",
                     lambda s, vm: views.OverviewView(vm, s.open, {k: p.title for k, p in
                                                                   PAGES.items()}),
                     lambda vm, t, u: vm.refresh(), sidebar=True),
    "tenants": Page("All Tenants", "tenants", lambda s, vm: views.TenantsView(vm),
                    lambda vm, t, u: vm.refresh(), sidebar=True),
    "users": Page("All Users", "users", lambda s, vm: views.UsersView(vm, s.open),
                  _load_users, sidebar=True),
    "licenses": Page("Licenses", "licenses", lambda s, vm: views.LicensesView(vm),
                     _load_licenses, sidebar=True),
    "create": Page("Create User", "form", lambda s, vm: views.UserFormView(vm),
                   lambda vm, t, u: vm.start_create(t), needs="onboard", sidebar=True),
    "bulk": Page("Bulk", "bulk", lambda s, vm: views.BulkView(vm), lambda vm, t, u: None,
                 needs="bulk", sidebar=True),
    "activity": Page("Activity", "activity", lambda s, vm: views.ActivityView(vm),
                     lambda vm, t, u: vm.refresh(), sidebar=True),
    "user": Page("User Details", "user", lambda s, vm: views.UserDetailsView(vm, s.open),
                 _load_user, user_page=True, lit="users"),
    "edit": Page("Edit User", "form", lambda s, vm: views.UserFormView(vm),
                 lambda vm, t, u: vm.start_edit(t, u), needs="edit", user_page=True, lit="users"),
    "offboard": Page("Offboard User", "offboard",
                     lambda s, vm: views.OffboardView(vm, s.open),
                     lambda vm, t, u: vm.load(t, u), needs="offboard", user_page=True,
                     lit="users"),
}


def page_allowed(page: str, actor) -> bool:
    """Whether `actor` may open `page`; the services check every write again regardless."""
    need = PAGES[page].needs
    return need is None or bool(actor and actor.may(need))


def sidebar_pages(actor) -> list[str]:
    return [key for key, page in PAGES.items() if page.sidebar and page_allowed(key, actor)]


class Navigation(param.Parameterized):
    """The open page and its subject; plain state that the URL, sidebar and pages mirror."""

    page = param.Selector(default="overview", objects=list(PAGES), doc="The page shown in the main "
                          "area (a key of PAGES); mirrored in the URL as ?page=.")
    tenant = param.String(default="", doc="Tenant id the page is about; empty for all tenants. "
                                          "Mirrored in the URL and in the pages' tenant pickers.")
    user = param.String(default="", doc="User object id for the user pages; empty otherwise.")

    @param.depends("page")
    def title(self) -> str:
        return PAGES[self.page].title

    def go(self, page: str, tenant: str | None = None, user: str | None = None) -> None:
        """Open `page`; user pages need a user, and a page without a user forgets it."""
        if page not in PAGES:
            raise ValueError(f"page must be one of {', '.join(PAGES)}, got {page!r}")
        updates = {"page": page}
        if tenant is not None:
            updates["tenant"] = tenant
        updates["user"] = (user or self.user) if PAGES[page].user_page else ""
        if PAGES[page].user_page and not updates["user"]:
            raise ValueError(f"the {PAGES[page].title} page needs a user")
        self.param.update(**updates)

    def resolve_deep_link(self) -> None:
        """A link with a user but no user page (?tenant=&user=) opens that user's details."""
        if self.user and not PAGES[self.page].user_page:
            self.page = "user"
        elif PAGES[self.page].user_page and not self.user:
            self.page = "users"
