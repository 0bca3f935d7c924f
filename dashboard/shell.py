"""The page's frame: a header bar, the sidebar and the main area, as three plain Panel layouts.

Panel's BootstrapTemplate did the same with a Jinja page, Bootstrap's JavaScript bundle and a
second copy of its stylesheets; building it took about 40% of the server's time per new session
and its scripts and styles came before the first row of All Users (docs/BENCHMARKS.md). The
design (`design="bootstrap"`, dashboard.resources) still styles every widget.
"""
from __future__ import annotations

import panel as pn

HEADER_STYLES = {"background": "#0f3b66", "color": "#ffffff", "padding": "0 20px",
                 "height": "56px", "align-items": "center", "width": "100%",
                 "box-shadow": "0 1px 4px rgba(0,0,0,0.25)"}
SIDEBAR_STYLES = {"padding": "12px 8px", "position": "sticky", "top": "0",
                  "align-self": "flex-start"}
# The sidebar's grey runs the page's whole length, however long the main area is.
BODY_STYLES = {"background": "linear-gradient(to right, #f8f9fa 230px, #dee2e6 230px, "
                             "#dee2e6 231px, #ffffff 231px)",
               "min-height": "calc(100vh - 56px)"}
PAGE_CSS = """
body { margin: 0; background: #ffffff; }
"""
SIDEBAR_WIDTH = 230


def shell(title: str, main, sidebar=None, who: str = "") -> pn.Column:
    """The whole page: `title` in the header with `who` (HTML: the signed-in person, role and
    Sign out) at its right, `sidebar` (a layout, or None) beside `main`."""
    header = pn.Row(pn.pane.HTML(f"<span style='font-size:1.25rem;font-weight:500;"
                                 f"line-height:56px'>{title}</span>",
                                 styles={"color": "#ffffff"}, margin=0),
                    pn.layout.HSpacer(),
                    pn.pane.HTML(f"<span style='line-height:56px'>{who}</span>",
                                 styles={"color": "#ffffff"}, margin=0,
                                 css_classes=["m365-who"]),
                    styles=HEADER_STYLES, margin=0, css_classes=["m365-header"])
    body = [main] if sidebar is None else [
        pn.Column(sidebar, width=SIDEBAR_WIDTH, styles=SIDEBAR_STYLES, margin=0,
                  css_classes=["m365-sidebar"]),
        pn.Column(main, sizing_mode="stretch_width", margin=(0, 16), styles={"padding": "8px 0"})]
    return pn.Column(header, pn.Row(*body, sizing_mode="stretch_width", margin=0,
                                    styles=BODY_STYLES if sidebar is not None else {}),
                     sizing_mode="stretch_width", margin=0, stylesheets=[PAGE_CSS])
