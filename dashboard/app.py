"""The dashboard: one page object per browser session, a sidebar, and deep links.

`build_page(m365)` makes a fresh set of view models and views for each session (pass
`lambda: build_page(m365)` to `pn.serve`, never a shared widget), so two technicians never share
a form. The open page, tenant and user are mirrored in the URL's query string.
"""
from __future__ import annotations

import html
import logging

import panel as pn

from .session_identity import session_actor, sign_out_url
from .pages import MODELS, PAGES, Navigation, page_allowed, sidebar_pages
from .resources import configure
from .shell import SIDEBAR_CSS, shell, theme_from_cookies
from .viewmodels.base import error_text
from .views.links import Links, link

log = logging.getLogger(__name__)
TITLE = "M365 Dashboard"


class DashboardSession:
    """The pages of one browser session, built on first visit and kept while it lasts."""

    def __init__(self, m365, nav: Navigation | None = None):
        self.m365 = m365
        self.nav = nav or Navigation()
        self.vm = {key: model(m365=m365) for key, model in MODELS.items()}
        self._views: dict[str, pn.viewable.Viewable] = {}
        self.main = pn.Column(sizing_mode="stretch_width", css_classes=["m365-main"])
        self._wire()

    def _wire(self) -> None:
        """Every cross-page reaction of the session, in one place."""
        vm, nav = self.vm, self.nav
        form, offboard = vm["form"], vm["offboard"]
        form.param.watch(lambda e: self._closed(form), "closed")
        form.param.watch(lambda e: self._changed(form.tenant), "saved")
        offboard.param.watch(lambda e: self._changed(offboard.tenant), "done")
        offboard.param.watch(lambda e: self._closed(offboard), "closed")
        vm["activity"].param.watch(lambda e: self._changed(None), "restored")
        vm["tenants"].param.watch(lambda e: self._changed(None), "changed")
        # A tenant picked on a page is the session's tenant: the URL and other pages follow.
        for key in ("users", "licenses"):
            vm[key].param.watch(lambda e, k=key: self._picked_tenant(k, e.new), "tenant")
        nav.param.watch(lambda *_events: self.show(), ["page", "tenant", "user"])

    # ---- routing -------------------------------------------------------------------------------

    def open(self, page: str, tenant: str = "", user: str = "") -> None:
        """Row actions, buttons and the sidebar call this; the nav watcher shows the page.
        Leaving a form with unsaved changes asks first (the form shows the question)."""
        form = self.vm["form"]
        if self.nav.page in ("create", "edit") and page != self.nav.page \
                and not form.ask_to_leave(page, tenant, user):
            return
        self.nav.go(page, tenant=tenant, user=user)

    def _closed(self, model) -> None:
        """A form or the offboarding of a deleted user is done: back to All Users of its
        tenant (or where the person asked to go), saying how the last applies went."""
        target = getattr(model, "leave_to", None)
        if target:
            model.leave_to = None
            self.nav.go(*target)
            return
        self.vm["users"].alerts = model.outcome_alerts()
        self.nav.go("users", tenant=model.tenant, user="")

    def _picked_tenant(self, key: str, tenant: str) -> None:
        if self.nav.page == key and self.nav.tenant != tenant:
            self.nav.tenant = tenant

    def _changed(self, tenant_id: str | None) -> None:
        """A write or sync changed the store: refresh the affected user rows."""
        users = self.vm["users"]
        if not users.loaded:
            return
        if tenant_id:
            users.refresh_tenant(tenant_id)
        else:
            users.refresh()

    def _view(self, key: str):
        page = PAGES[key]
        if page.model not in self._views:
            self._views[page.model] = page.view(self, self.vm[page.model])
        return self._views[page.model]

    def show(self) -> None:
        """Load the open page's view model and put its view in the main area."""
        key, tenant, user = self.nav.page, self.nav.tenant, self.nav.user
        page, actor = PAGES[key], self.m365.actor
        if not page_allowed(key, actor):
            # A deep link or a crafted URL: say why instead of showing a form that would fail.
            self.main.objects = [pn.pane.Alert(
                f"{page.title} is not available to you: your role ({actor.role}) may not "
                f"{page.needs} users. Ask an admin of this dashboard for a role that may.",
                alert_type="warning", css_classes=["m365-not-allowed"])]
            return
        try:
            page.load(self.vm[page.model], tenant, user)
        except Exception as exc:  # noqa: BLE001 - a page that cannot load says why instead of a blank
            log.exception("loading page %s failed", key)
            self.main.objects = [pn.pane.Alert(f"{page.title} could not be loaded: {error_text(exc)}",
                                               alert_type="danger")]
            return
        self.main.objects = [self._view(key)]

    # ---- template ------------------------------------------------------------------------------

    def sidebar_entries(self) -> list[tuple[str, str]]:
        """(page, title) of the sidebar's links, in order, for this session's role."""
        return [(key, PAGES[key].title) for key in sidebar_pages(self.m365.actor)]

    def sidebar_html(self) -> str:
        """The sidebar's links, the open page's (or the page it belongs to) lit."""
        lit = {self.nav.page, PAGES[self.nav.page].lit}
        return "<nav class='m365-sidebar-nav'>" + "".join(
            link(title, key, self.nav.tenant if key != "tenants" else "",
                 css_class=f"m365-nav m365-nav-{key}" + (" m365-nav-current" if key in lit else ""),
                 current=key in lit)
            for key, title in self.sidebar_entries()) + "</nav>"

    def sidebar(self) -> Links:
        """The sidebar: one HTML component of links (seven Bokeh buttons cost the first page of
        every session about 0.25 s, docs/BENCHMARKS.md §6); a click opens the page here."""
        nav = Links(open=lambda page, _t, _u: self.open(
                        page, self.nav.tenant if page != "tenants" else "", ""),
                    object=self.sidebar_html(), css=SIDEBAR_CSS, sizing_mode="stretch_width",
                    margin=0, css_classes=["m365-sidebar-links"])
        self.nav.param.watch(lambda *_e: setattr(nav, "object", self.sidebar_html()),
                             ["page", "tenant"])
        return nav

    def who(self) -> str:
        """The header's right side: who is signed in, their role, and Sign out (HTML)."""
        actor = getattr(self.m365, "actor", None)
        if actor is None:
            return ""
        text = (f"Signed in as <b>{html.escape(actor.name)}</b> "
                f"({html.escape(actor.role)})")
        out = sign_out_url()
        if out:
            text += (f" · <a href='{html.escape(out, quote=True)}' "
                     "style='color:#ffffff'>Sign out</a>")
        return text

    def template(self, theme: str = "light") -> pn.Column:
        self.show()
        return shell(TITLE, self.main, self.sidebar(), who=self.who(), theme=theme)


def _query_args() -> dict[str, str]:
    args = getattr(pn.state, "session_args", None) or {}
    out = {}
    for key in ("page", "tenant", "user"):
        values = args.get(key)
        if values:
            value = values[0]
            out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def _theme() -> str:
    """This browser's light/dark choice (the header's switch sets a cookie), applied to the
    session's widgets and tables: Panel's dark theme is set per session, before any is built."""
    try:
        cookies = pn.state.cookies if pn.state.curdoc is not None else {}
    except Exception:  # noqa: BLE001 - no request (a notebook, a test): the light theme
        cookies = {}
    theme = theme_from_cookies(cookies)
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.config.theme = "dark" if theme == "dark" else "default"
    return theme


def build_page(m365) -> pn.Column:
    """One session's dashboard; applies ?page=&tenant=&user= and keeps the URL in step."""
    configure()
    theme = _theme()
    try:
        actor = session_actor(default=m365.actor)
    except PermissionError as exc:
        # Signed in, but no role here (removed from the users file, no app role assigned).
        out = sign_out_url()
        text = f"Access denied: {exc}" + (
            f"\n\n[Sign out]({out}) to sign in with another account." if out else "")
        return shell(TITLE, pn.pane.Alert(text, alert_type="danger",
                                          css_classes=["m365-access-denied"]), theme=theme)
    # Every write of this session runs, is checked and is audited as the signed-in person.
    m365 = m365.as_actor(actor)
    nav = Navigation()
    query = _query_args()
    if query.get("page") not in PAGES:
        query.pop("page", None)
    nav.param.update(**query)
    nav.resolve_deep_link()
    session = DashboardSession(m365, nav)
    page = session.template(theme)
    if pn.state.location is not None:
        pn.state.location.sync(nav, {"page": "page", "tenant": "tenant", "user": "user"})
    return page
