"""HTML whose links open pages of this browser session: one Bokeh model however many links.

The sidebar's seven Bokeh buttons and the Overview's seven cards (each a column, an HTML pane
and a button) were some 30 models that the browser builds, each a shadow root with its own
stylesheets, before the first rows or cards show (docs/BENCHMARKS.md §6). `Links` is one model:
its HTML is painted as given, and a plain left click on an `<a data-page="..."
data-tenant="..." data-user="...">` calls `open(page, tenant, user)` on the server instead of
loading the page again (a new session); the link's own `href` still opens a new tab on a
middle, Ctrl or Cmd click.
"""
from __future__ import annotations

import html
from typing import Callable
from urllib.parse import urlencode

import param
from panel.reactive import ReactiveHTML


def link(text: str, page: str, tenant: str = "", user: str = "", css_class: str = "",
         current: bool = False) -> str:
    """An `<a>` for Links: opens `page` of this session (about `tenant` and `user`)."""
    query = {"page": page, **({"tenant": tenant} if tenant else {}), **({"user": user} if user else {})}
    attrs = {"href": "?" + urlencode(query), "data-page": page, "data-tenant": tenant,
             "data-user": user, "class": css_class}
    if current:
        attrs["aria-current"] = "page"
    shown = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items() if v)
    return f"<a {shown}>{html.escape(text)}</a>"


class Links(ReactiveHTML):
    """HTML (`object`) painted in the page; its `link()`s open pages of this session."""

    object = param.String(default="", precedence=-1, doc="The HTML shown, made by the dashboard "
                          "(every value in it escaped). Links made by link() open that page in "
                          "this session.")
    css = param.String(default="", precedence=-1, doc="CSS for the HTML (it is painted in its "
                       "own shadow root, so the page's styles do not reach it).")
    content = param.Dict(default={}, doc="What the browser paints: {'html', 'css'}, kept in "
                         "step with `object` and `css`.")
    clicked = param.Dict(default={}, doc="The last link clicked: page, tenant, user and a "
                         "browser timestamp (set by the browser; a watcher opens the page).")

    # A template, not an ES module: Panel loads ES-module components from blob: URLs, which the
    # dashboard's Content-Security-Policy (connect-src 'self') rightly refuses. The HTML goes
    # over as a dict: ReactiveHTML passes every text parameter through nh3, which strips the
    # class and data- attributes the cards and links are made of. Our HTML is built here with
    # every value escaped (html.escape), never from a person's markup.
    _template = '<div id="box" class="m365-links" onclick="${script(\'click\')}"></div>'
    _paint = ('const c = data.content || {}; box.innerHTML = (c.css ? "<style>" + c.css + '
              '"</style>" : "") + (c.html || "")')
    _scripts = {"render": _paint, "content": _paint,
                "click": """
      const a = event.target.closest("a[data-page]")
      if (!a || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey
          || event.altKey) {
        return
      }
      event.preventDefault()
      data.clicked = {page: a.dataset.page, tenant: a.dataset.tenant || "",
                      user: a.dataset.user || "", at: Date.now()}
    """}

    def __init__(self, open: Callable[[str, str, str], None] | None = None, **params):
        super().__init__(**params)
        self._open = open
        self._sync()
        self.param.watch(lambda _e: self._sync(), ["object", "css"])
        self.param.watch(self._opened, "clicked")

    def _sync(self) -> None:
        self.content = {"html": self.object, "css": self.css}

    def _opened(self, event) -> None:
        data = event.new
        if self._open is None or not isinstance(data, dict) or not data.get("page"):
            return
        self._open(str(data["page"]), str(data.get("tenant") or ""), str(data.get("user") or ""))
