"""Pieces every page uses: alerts, the busy bar, the plan confirmation panel, table defaults,
CSV downloads, and running long actions off the server's event loop."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from io import StringIO
from typing import Callable

import pandas as pd
import panel as pn
import param

from ..viewmodels.base import error_text

PAGE_SIZE = 50
log = logging.getLogger(__name__)
# Long actions (plans that read Graph, applies, syncs, bulk jobs) run here, off the server's event
# loop, so the page stays responsive and shows progress; everything else runs in event order.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="m365-dashboard")


class UiThread:
    """The event-loop thread of the browser session being built (create it in the page factory).

    `call(fn)` runs `fn` there and waits for it: the view models send their parameter changes
    through it from worker threads, because Bokeh documents may only be changed on their own
    thread (tornado's `add_callback` is the one thread-safe way in).
    """

    TIMEOUT_S = 120

    def __init__(self):
        from panel.io.state import set_curdoc
        from tornado.ioloop import IOLoop
        self._set_curdoc = set_curdoc
        self.loop = IOLoop.current()
        self.thread = threading.get_ident()
        self.doc = pn.state.curdoc
        # Set when the browser session ends (tab closed, signed out, server stopping): a worker
        # still running an apply then finishes its view-model changes itself instead of
        # waiting for a loop that will not run them.
        self.closed = threading.Event()
        if self.doc is not None and getattr(self.doc, "session_context", None) is not None:
            self.doc.on_session_destroyed(lambda _ctx: self.closed.set())

    def here(self) -> bool:
        return threading.get_ident() == self.thread

    def call(self, fn: Callable):
        if self.here() or self.closed.is_set():
            return fn()
        future: Future = Future()

        def run():
            if not future.set_running_or_notify_cancel():
                return
            try:
                with self._set_curdoc(self.doc):
                    result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting worker as is
                future.set_exception(exc)
            else:
                future.set_result(result)

        self.loop.add_callback(run)
        deadline = time.monotonic() + self.TIMEOUT_S
        while True:
            try:
                return future.result(timeout=0.5)
            except FutureTimeout:
                if self.closed.is_set() and future.cancel():
                    return fn()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the page's event loop did not run an update within "
                                       f"{self.TIMEOUT_S} s") from None


def in_background(vm, action: Callable, *args) -> Callable:
    """A click handler that runs `action(*args)` in a worker thread; a crash becomes an alert.

    Panel sends parameter changes made in a worker thread to the browser on the next tick.
    """
    name = getattr(action, "__name__", "action")

    def run():
        log.debug("%s%r started", name, args)
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - the technician must see why nothing happened
            log.exception("%s failed", name)
            vm.busy = False
            vm.alert("danger", f"{name.replace('_', ' ')} failed: {error_text(exc)}")
        else:
            log.debug("%s%r finished", name, args)

    def handler(_event=None):
        if vm.busy:
            log.info("%s ignored: the page is busy", name)
            return
        _POOL.submit(run)
    return handler


def alerts(vm) -> pn.viewable.Viewable:
    """The page's alerts, newest last; the Dismiss button clears them."""
    def render(items):
        if not items:
            return pn.Column(height=0, margin=0)
        dismiss = pn.widgets.Button(name="Dismiss messages", button_type="light", width=160)
        dismiss.on_click(lambda _e: vm.clear_alerts())
        return pn.Column(*[pn.pane.Alert(a.text, alert_type=a.kind, sizing_mode="stretch_width",
                                         css_classes=[f"m365-alert-{a.kind}"]) for a in items[-6:]],
                         dismiss, sizing_mode="stretch_width")
    return pn.panel(pn.bind(render, vm.param.alerts), sizing_mode="stretch_width")


def busy_bar(vm) -> pn.viewable.Viewable:
    """A progress bar and status line while a sync or an apply runs."""
    def render(busy, progress, status):
        if not busy:
            return pn.pane.Markdown(status and f"*{status}*", margin=(0, 10))
        bar = pn.indicators.Progress(value=progress if progress >= 0 else -1, max=100,
                                     active=progress < 0, bar_color="primary", width=300)
        return pn.Row(bar, pn.pane.Markdown(status, css_classes=["m365-status"]))
    return pn.panel(pn.bind(render, vm.param.busy, vm.param.progress, vm.param.status))


def table(value, *, remote: bool = False, page_size: int = PAGE_SIZE, hidden=(), **kwargs):
    """A Tabulator with the dashboard's defaults: paged, sortable, filterable headers.

    `remote=True` keeps the frame on the server and sends one page at a time (large listings).
    """
    kwargs.setdefault("sizing_mode", "stretch_width")
    kwargs.setdefault("disabled", True)
    kwargs.setdefault("show_index", False)
    kwargs.setdefault("layout", "fit_data_table")
    kwargs.setdefault("theme", "bootstrap5")
    kwargs.setdefault("theme_classes", ["table-sm"])
    return pn.widgets.Tabulator(value, pagination="remote" if remote else "local",
                                page_size=page_size, hidden_columns=list(hidden), **kwargs)


def header_filters(columns) -> dict:
    return {c: {"type": "input", "func": "like", "placeholder": "filter"} for c in columns}


def plan_panel(vm) -> pn.viewable.Viewable:
    """The steps of a pending plan with Confirm and Back; nothing is written before Confirm.

    Built afresh for each plan rather than shown and hidden: a table created inside a hidden
    container sometimes rendered no rows once shown, and the plan then seemed to be missing.
    """
    confirm = pn.widgets.Button(name="Confirm and apply", button_type="primary",
                                css_classes=["m365-confirm"], disabled=vm.param.busy)
    back = pn.widgets.Button(name="Back", button_type="light", css_classes=["m365-back"])
    confirm.on_click(in_background(vm, vm.confirm))
    back.on_click(lambda _e: vm.discard())

    def render(title, steps, warnings):
        if not title:
            return pn.Column(height=0, margin=0)
        parts = [pn.pane.Markdown(f"### {title}\nThese changes will be made in Microsoft 365:"),
                 table(steps, page_size=20, layout="fit_columns")]
        if warnings:
            parts.append(pn.pane.Alert("\n".join(f"- {w}" for w in warnings), alert_type="warning"))
        parts.append(pn.Row(confirm, back))
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["m365-plan"],
                         styles={"border": "2px solid #0d6efd", "border-radius": "6px",
                                 "padding": "8px"})

    return pn.panel(pn.bind(render, vm.param.pending_title, vm.param.pending_steps,
                            vm.param.pending_warnings), sizing_mode="stretch_width")


def derived(method: Callable, fn: Callable = bool):
    """A reference to `fn(method())` that follows a view model's `param.depends` method."""
    return param.rx(method).rx.pipe(fn)


def blockers_note(method: Callable[[], list[str]]) -> pn.viewable.Viewable:
    """A short grey line saying why the buttons next to it are disabled."""
    text = derived(method, lambda reasons: f"*Disabled: {'; '.join(reasons)}*" if reasons else "")
    return pn.pane.Markdown(text, css_classes=["m365-blockers"], styles={"color": "#6c757d"})


def csv_download(make_text: Callable[[], str], filename: Callable[[], str] | str, label: str):
    """A download button; the CSV is made when clicked, from the current filtered rows."""
    def callback():
        return StringIO(make_text())
    widget = pn.widgets.FileDownload(callback=callback, filename=filename if isinstance(filename, str)
                                     else filename(), label=label, button_type="light",
                                     embed=False, width=200)
    return widget
