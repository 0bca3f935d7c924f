"""The dashboard: Panel pages over param view models. `page(name, m365)` shows one page inline
in a Jupyter notebook (after `pn.extension("tabulator")`)."""
from __future__ import annotations


def page(name: str, m365, tenant: str = "", user: str = ""):
    """The page `name` (overview, tenants, users, licenses, activity, user, edit, offboard,
    create, bulk) for a connected M365, ready to display in a notebook cell. Buttons that open
    another page switch the same output, as the sidebar would."""
    from .app import DashboardSession
    from .pages import PAGES, Navigation
    from .resources import configure
    if name not in PAGES:
        raise ValueError(f"page must be one of {', '.join(PAGES)}, got {name!r}")
    configure()
    session = DashboardSession(m365, Navigation(page=name, tenant=tenant, user=user))
    session.show()
    return session.main
