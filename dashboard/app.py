"""The dashboard: one page object per browser session, a sidebar, and deep links.

`build_page(m365)` makes a fresh set of view models and views for each session (pass
`lambda: build_page(m365)` to `pn.serve`, never a shared widget), so two technicians never share
a form. The open page, tenant and user are mirrored in the URL's query string.
"""
from __future__ import annotations

import logging

import panel as pn

from .auth import session_actor, sign_out_url
from .resources import configure
from .viewmodels import (PAGE_NEEDS, PAGES, SIDEBAR, ActivityViewModel, BulkViewModel, LicensesViewModel,
                         Navigation, OffboardViewModel, TenantsViewModel, UserDetailsViewModel,
                         UserFormViewModel, UsersViewModel, page_allowed)
from .views import (ActivityView, BulkView, LicensesView, OffboardView, TenantsView,
                    UserDetailsView, UserFormView, UsersView)
from .views.common import UiThread

log = logging.getLogger(__name__)
TITLE = "M365 Dashboard"


class DashboardSession:
    """The pages of one browser session, built on first visit and kept while it lasts."""

    def __init__(self, m365, nav: Navigation | None = None):
        self.m365 = m365
        self.nav = nav or Navigation()
        self.vm = {"tenants": TenantsViewModel(m365=m365), "users": UsersViewModel(m365=m365),
                   "user": UserDetailsViewModel(m365=m365), "licenses": LicensesViewModel(m365=m365),
                   "form": UserFormViewModel(m365=m365), "offboard": OffboardViewModel(m365=m365),
                   "bulk": BulkViewModel(m365=m365), "activity": ActivityViewModel(m365=m365)}
        self._views: dict[str, pn.viewable.Viewable] = {}
        self._users_loaded = False
        self.main = pn.Column(sizing_mode="stretch_width", css_classes=["m365-main"])
        form, vm = self.vm["form"], self.vm
        form.param.watch(lambda e: self._form_closed(), "closed")
        form.param.watch(lambda e: self._changed(form.tenant), "saved")
        vm["offboard"].param.watch(lambda e: self._changed(vm["offboard"].tenant), "done")
        vm["activity"].param.watch(lambda e: self._changed(None), "restored")
        vm["tenants"].param.watch(lambda e: self._changed(None), "changed")
        self.nav.param.watch(lambda *_events: self.show(), ["page", "tenant", "user"])

    # ---- routing -------------------------------------------------------------------------------

    def open(self, page: str, tenant: str = "", user: str = "") -> None:
        """Row actions and buttons call this; the nav watcher then shows the page."""
        self.nav.go({"details": "user"}.get(page, page), tenant=tenant, user=user)

    def _form_closed(self) -> None:
        """Back to All Users of the form's tenant, saying how the form's last applies went."""
        form = self.vm["form"]
        self.vm["users"].alerts = form.outcome_alerts()
        self.open("users", form.tenant, "")

    def _changed(self, tenant_id: str | None) -> None:
        """A write or sync changed the store: refresh the affected user rows."""
        if not self._users_loaded:
            return
        if tenant_id:
            self.vm["users"].refresh_tenant(tenant_id)
        else:
            self.vm["users"].refresh()

    def _view(self, key: str):
        if key not in self._views:
            vm = self.vm
            factories = {
                "tenants": lambda: TenantsView(vm["tenants"]),
                "users": lambda: UsersView(vm["users"], self.open),
                "user": lambda: UserDetailsView(vm["user"], self.open),
                "licenses": lambda: LicensesView(vm["licenses"]),
                "form": lambda: UserFormView(vm["form"]),
                "offboard": lambda: OffboardView(vm["offboard"], self.open),
                "bulk": lambda: BulkView(vm["bulk"]),
                "activity": lambda: ActivityView(vm["activity"]),
            }
            self._views[key] = factories[key]()
        return self._views[key]

    def show(self) -> None:
        """Load the open page's view model and put its view in the main area."""
        page, tenant, user = self.nav.page, self.nav.tenant, self.nav.user
        vm = self.vm
        actor = self.m365.actor
        if not page_allowed(page, actor):
            # A deep link or a crafted URL: say why instead of showing a form that would fail.
            self.main.objects = [pn.pane.Alert(
                f"{PAGES[page]} is not available to you: your role ({actor.role}) may not "
                f"{PAGE_NEEDS[page]} users. Ask an admin of this dashboard for a role that may.",
                alert_type="warning", css_classes=["m365-not-allowed"])]
            return
        try:
            if page == "tenants":
                vm["tenants"].refresh()
            elif page == "users":
                if not self._users_loaded:
                    vm["users"].refresh()
                    self._users_loaded = True
                if tenant != vm["users"].tenant and tenant in vm["users"].param.tenant.objects.values():
                    vm["users"].tenant = tenant
            elif page == "licenses":
                vm["licenses"].refresh()
                if tenant in vm["licenses"].param.tenant.objects.values():
                    vm["licenses"].tenant = tenant
            elif page == "user":
                vm["user"].load(tenant, user)
            elif page == "create":
                vm["form"].start_create(tenant)
            elif page == "edit":
                vm["form"].start_edit(tenant, user)
            elif page == "offboard":
                vm["offboard"].load(tenant, user)
            elif page == "activity":
                vm["activity"].refresh()
        except Exception as exc:  # noqa: BLE001 - a page that cannot load says why instead of a blank
            log.exception("loading page %s failed", page)
            self.main.objects = [pn.pane.Alert(f"{PAGES[page]} could not be loaded: {exc}",
                                               alert_type="danger")]
            return
        key = {"create": "form", "edit": "form"}.get(page, page)
        self.main.objects = [self._view(key)]

    # ---- template ------------------------------------------------------------------------------

    def sidebar(self) -> pn.Column:
        buttons = []
        for key in (k for k in SIDEBAR if page_allowed(k, self.m365.actor)):
            button = pn.widgets.Button(
                name=PAGES[key], sizing_mode="stretch_width", css_classes=[f"m365-nav-{key}"],
                button_type=pn.bind(lambda page, k=key: "primary" if page == k or
                                    (k == "users" and page in ("user", "edit", "offboard")) else "light",
                                    self.nav.param.page))
            button.on_click(lambda _e, k=key: self.open(k, self.nav.tenant if k != "tenants" else "", ""))
            buttons.append(button)
        actor = getattr(self.m365, "actor", None)
        who = f"Signed in as **{actor.name}** ({actor.role})" if actor else ""
        out = sign_out_url()
        if out:
            who += f"  \n[Sign out]({out})"
        return pn.Column(*buttons, pn.pane.Markdown(who, styles={"color": "#6c757d"}),
                         sizing_mode="stretch_width")

    def template(self) -> pn.template.BootstrapTemplate:
        self.show()
        return pn.template.BootstrapTemplate(title=TITLE, sidebar=[self.sidebar()], main=[self.main],
                                             sidebar_width=230, header_background="#0f3b66")


def _query_args() -> dict[str, str]:
    args = getattr(pn.state, "session_args", None) or {}
    out = {}
    for key in ("page", "tenant", "user"):
        values = args.get(key)
        if values:
            value = values[0]
            out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def build_page(m365) -> pn.template.BootstrapTemplate:
    """One session's dashboard; applies ?page=&tenant=&user= and keeps the URL in step."""
    configure()
    try:
        actor = session_actor(default=m365.actor)
    except PermissionError as exc:
        # Signed in, but no role here (removed from the users file, no app role assigned).
        out = sign_out_url()
        text = f"Access denied: {exc}" + (
            f"\n\n[Sign out]({out}) to sign in with another account." if out else "")
        return pn.template.BootstrapTemplate(
            title=TITLE, header_background="#0f3b66",
            main=[pn.pane.Alert(text, alert_type="danger", css_classes=["m365-access-denied"])])
    # Every write of this session runs, is checked and is audited as the signed-in person.
    m365 = m365.as_actor(actor)
    nav = Navigation()
    query = _query_args()
    if query.get("page") not in PAGES:
        query.pop("page", None)
    nav.param.update(**query)
    nav.resolve_deep_link()
    session = DashboardSession(m365, nav)
    ui = UiThread()
    for vm in session.vm.values():
        vm.attach_ui(ui)
    page = session.template()
    if pn.state.location is not None:
        pn.state.location.sync(nav, {"page": "page", "tenant": "tenant", "user": "user"})
    return page
