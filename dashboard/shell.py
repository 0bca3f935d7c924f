"""The page's frame: a header bar, the sidebar and the main area, as three plain Panel layouts.

Panel's BootstrapTemplate did the same with a Jinja page, Bootstrap's JavaScript bundle and a
second copy of its stylesheets; building it took about 40% of the server's time per new session
and its scripts and styles came before the first row of All Users (docs/BENCHMARKS.md). The
design (`design="bootstrap"`, dashboard.resources) still styles every widget. The header is one
HTML pane (title, who is signed in, the light/dark switch) and the sidebar one Links component:
each Bokeh model is a shadow root the browser builds before the first rows show.

Light or dark: the switch stores the choice in a cookie (`m365_theme`, a year, this browser)
and reloads the page, which the server then builds in that theme (Panel's dark Bootstrap theme
for widgets and tables, and the colours below for our own HTML), so no page flashes light
first. `theme_from_cookies()` reads it.
"""
from __future__ import annotations

import html

import panel as pn

THEME_COOKIE = "m365_theme"
THEMES = ("light", "dark")
SIDEBAR_WIDTH = 230
HEADER_HEIGHT = 56

# Colours of our own HTML (cards, sidebar, notes), as CSS variables on the page's root: they
# reach every component's shadow root (custom properties inherit through shadow boundaries).
PALETTES = {
    "light": {"--m365-bg": "#ffffff", "--m365-fg": "#212529", "--m365-muted": "#6c757d",
              "--m365-card-bg": "#ffffff", "--m365-border": "#dee2e6",
              "--m365-sidebar-bg": "#f8f9fa", "--m365-button-bg": "#f8f9fa",
              "--m365-hover-bg": "#e9ecef", "--m365-primary": "#0072b5",
              "--m365-primary-fg": "#ffffff", "--m365-warning-fg": "#997404",
              "--m365-header-bg": "#0f3b66"},
    "dark": {"--m365-bg": "#1b1e22", "--m365-fg": "#e6e8ea", "--m365-muted": "#a3abb3",
             "--m365-card-bg": "#23272b", "--m365-border": "#3a4046",
             "--m365-sidebar-bg": "#16191c", "--m365-button-bg": "#2c3136",
             "--m365-hover-bg": "#363c42", "--m365-primary": "#3d8bfd",
             "--m365-primary-fg": "#ffffff", "--m365-warning-fg": "#ffda6a",
             "--m365-header-bg": "#0b2744"},
}

SIDEBAR_STYLES = {"padding": "12px 8px", "position": "sticky", "top": "0",
                  "align-self": "flex-start"}
# The sidebar's colour runs the page's whole length, however long the main area is.
BODY_STYLES = {"background": f"linear-gradient(to right, var(--m365-sidebar-bg) {SIDEBAR_WIDTH}px, "
                             f"var(--m365-border) {SIDEBAR_WIDTH}px, var(--m365-border) "
                             f"{SIDEBAR_WIDTH + 1}px, var(--m365-bg) {SIDEBAR_WIDTH + 1}px)",
               "min-height": f"calc(100vh - {HEADER_HEIGHT}px)"}
SIDEBAR_CSS = """
.m365-sidebar-nav { display: flex; flex-direction: column; gap: 4px; }
.m365-nav { display: block; padding: 6px 12px; border-radius: 6px; text-align: center;
  color: var(--m365-fg, #212529); text-decoration: none; font-size: 14px; line-height: 1.5;
  border: 1px solid transparent; }
.m365-nav:hover { background: var(--m365-hover-bg, #e9ecef); }
.m365-nav-current, .m365-nav-current:hover { background: var(--m365-primary, #0072b5);
  color: var(--m365-primary-fg, #ffffff); }
"""
HEADER_CSS = f"""
.m365-header-bar {{ display: flex; align-items: center; height: {HEADER_HEIGHT}px;
  padding: 0 20px; background: var(--m365-header-bg, #0f3b66); color: #ffffff;
  box-shadow: 0 1px 4px rgba(0,0,0,0.25); box-sizing: border-box; width: 100%; }}
.m365-title {{ font-size: 1.25rem; font-weight: 500; }}
.m365-who {{ margin-left: auto; }}
.m365-who a {{ color: #ffffff; }}
.m365-theme-switch {{ margin-left: 16px; background: transparent; color: #ffffff;
  border: 1px solid rgba(255,255,255,0.6); border-radius: 14px; padding: 2px 10px;
  font: inherit; font-size: 0.85rem; cursor: pointer; }}
.m365-theme-switch:hover {{ background: rgba(255,255,255,0.15); }}
"""


def theme_from_cookies(cookies) -> str:
    """'dark' or 'light' from the request's cookies (a dict; light when unset or unknown)."""
    value = (cookies or {}).get(THEME_COOKIE, "")
    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return value if value in THEMES else "light"


def _switch(theme: str) -> str:
    """The header's light/dark button: stores the other theme for this browser and reloads."""
    other = "light" if theme == "dark" else "dark"
    script = (f"document.cookie='{THEME_COOKIE}={other}; path=/; max-age=31536000; "
              "SameSite=Lax'; location.reload()")
    label = "☀ Light" if other == "light" else "☾ Dark"
    return (f"<button type='button' class='m365-theme-switch' data-theme='{theme}' "
            f"title='Switch to the {other} theme (remembered by this browser)' "
            f"aria-label='Switch to the {other} theme' onclick=\"{script}\">{label}</button>")


def page_css(theme: str) -> str:
    palette = PALETTES.get(theme, PALETTES["light"])
    variables = "; ".join(f"{k}: {v}" for k, v in palette.items())
    return f":host {{ {variables}; color: var(--m365-fg); background: var(--m365-bg); }}"


def shell(title: str, main, sidebar=None, who: str = "", theme: str = "light") -> pn.Column:
    """The whole page: `title` in the header with `who` (HTML: the signed-in person, role and
    Sign out) and the light/dark switch at its right, `sidebar` (a component, or None) beside
    `main`, coloured for `theme` ('light' or 'dark')."""
    header = pn.pane.HTML(
        f"<div class='m365-header-bar'><span class='m365-title'>{html.escape(title)}</span>"
        f"<span class='m365-who'>{who}</span>{_switch(theme)}</div>",
        stylesheets=[HEADER_CSS], sizing_mode="stretch_width", margin=0,
        css_classes=["m365-header"])
    body = [main] if sidebar is None else [
        pn.Column(sidebar, width=SIDEBAR_WIDTH, styles=SIDEBAR_STYLES, margin=0,
                  css_classes=["m365-sidebar"]),
        pn.Column(main, sizing_mode="stretch_width", margin=(0, 16), styles={"padding": "8px 0"})]
    return pn.Column(header, pn.Row(*body, sizing_mode="stretch_width", margin=0,
                                    styles=BODY_STYLES if sidebar is not None else {}),
                     sizing_mode="stretch_width", margin=0, stylesheets=[page_css(theme)],
                     styles={"min-height": "100vh"}, css_classes=[f"m365-theme-{theme}"])
