"""Panel settings for a dashboard that loads nothing from the internet.

Every script, stylesheet and font comes from the dashboard's own server: MSP networks are often
closed, and a CDN or font request tells a third party who uses the tool. Bokeh's and Panel's
resources are served locally (BOKEH_RESOURCES=server, Panel's resources="server"), and the
Bootstrap design and template are used because they ship their CSS with Panel (the Fast and
Material designs pull Google Fonts). tests/browser checks the network log for strays.
"""
from __future__ import annotations

import os

RAW_CSS = """
.m365-plan { background: #f5f9ff; }
.m365-status { color: #0d6efd; }
"""
_done = False


def configure() -> None:
    """Set Panel up once per process: local resources and the Bootstrap design.

    Browser events are handled in order on the server's event loop (Panel's own thread pool
    would handle one session's events concurrently, so a Save could overtake the selection
    made just before it); long actions are coroutines that await their blocking work in a
    worker thread (viewmodels.base.PageViewModel.run_task).
    """
    global _done
    os.environ["BOKEH_RESOURCES"] = "server"
    if _done:
        return
    import panel as pn
    pn.extension("tabulator", design="bootstrap", raw_css=[RAW_CSS], notifications=False)
    pn.config.resources = "server"
    pn.config.throttled = True          # sliders and the like send their value on release
    _done = True
