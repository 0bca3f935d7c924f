"""Pieces every page uses: alerts, the busy bar, the plan confirmation panel, table defaults,
CSV downloads, and click handlers for view-model actions."""
from __future__ import annotations

import html
import inspect
import logging
from io import StringIO
from typing import Callable

import pandas as pd
import panel as pn
import param

from ..viewmodels.base import error_text

PAGE_SIZE = 50
log = logging.getLogger(__name__)


def action(vm, method: Callable, *args) -> Callable:
    """A click handler for a view-model action. Panel runs it on the session's event loop; a
    coroutine action awaits its blocking work in a worker thread (see viewmodels.base), so
    the page stays responsive. A crash becomes an alert; a click while busy is ignored."""
    name = getattr(method, "__name__", "action")

    async def handler(_event=None):
        if vm.busy:
            log.info("%s ignored: the page is busy", name)
            return
        try:
            outcome = method(*args)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # noqa: BLE001 - the technician must see why nothing happened
            log.exception("%s failed", name)
            vm.busy = False
            vm.alert("danger", f"{name.replace('_', ' ').strip().capitalize()} failed: "
                               f"{error_text(exc)}")
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


# Tabulator's bootstrap5 theme paints with fixed light colours; in the dark theme (the header's
# switch, dashboard.shell) the same tables take the page's colours instead.
DARK_TABLE_CSS = """
.tabulator, .tabulator .tabulator-tableholder { background-color: var(--m365-bg, #1b1e22);
  color: var(--m365-fg, #e6e8ea); border-color: var(--m365-border, #3a4046); }
.tabulator .tabulator-header, .tabulator .tabulator-header .tabulator-col {
  background-color: var(--m365-button-bg, #2c3136) !important; color: var(--m365-fg, #e6e8ea)
  !important; border-color: var(--m365-border, #3a4046) !important; }
.tabulator-row, .tabulator-row .tabulator-cell { background-color: var(--m365-card-bg, #23272b)
  !important; color: var(--m365-fg, #e6e8ea) !important; border-color: var(--m365-border,
  #3a4046) !important; }
.tabulator-row.tabulator-row-even, .tabulator-row.tabulator-row-even .tabulator-cell {
  background-color: #272c31 !important; }
.tabulator-row.tabulator-selectable:hover, .tabulator-row.tabulator-selectable:hover
  .tabulator-cell { background-color: var(--m365-hover-bg, #363c42) !important; }
.tabulator-row.tabulator-selected, .tabulator-row.tabulator-selected .tabulator-cell {
  background-color: #1f4e79 !important; color: #ffffff !important; }
.tabulator .tabulator-footer, .tabulator .tabulator-footer .tabulator-page {
  background-color: var(--m365-button-bg, #2c3136) !important; color: var(--m365-fg, #e6e8ea)
  !important; border-color: var(--m365-border, #3a4046) !important; }
.tabulator .tabulator-footer .tabulator-page.active { background-color: var(--m365-primary,
  #3d8bfd) !important; color: #ffffff !important; }
.tabulator .tabulator-header-filter input, .tabulator-cell input { background: #1b1e22;
  color: var(--m365-fg, #e6e8ea); border: 1px solid var(--m365-border, #3a4046); }
.tabulator .tabulator-placeholder span { color: var(--m365-muted, #a3abb3) !important; }
.tabulator a { color: #8bb9fe; }
"""


def dark_theme() -> bool:
    """Whether this session is shown in the dark theme (pn.config.theme is per session)."""
    return pn.config.theme == "dark"


def table(value, *, remote: bool = False, page_size: int = PAGE_SIZE, hidden=(),
          empty: str = "Nothing to show", pager: bool | None = None, **kwargs):
    """A Tabulator with the dashboard's defaults: paged, sortable, filterable headers.

    `remote=True` keeps the frame on the server and sends one page at a time (large listings);
    `empty` is what an empty table says instead of a blank grid; `pager=False` for tables that
    stay short (a user's licenses, roles), None to decide from the rows given now.
    """
    kwargs.setdefault("configuration", {})
    kwargs["configuration"] = {"placeholder": empty, **kwargs["configuration"]}
    kwargs.setdefault("sizing_mode", "stretch_width")
    kwargs.setdefault("disabled", True)
    kwargs.setdefault("show_index", False)
    kwargs.setdefault("layout", "fit_data_table")
    kwargs.setdefault("theme", "bootstrap5")
    kwargs.setdefault("theme_classes", ["table-sm"])
    if "width" in kwargs:
        kwargs.pop("sizing_mode")
    if dark_theme():
        kwargs["stylesheets"] = [*kwargs.get("stylesheets", []), DARK_TABLE_CSS]
    # A table of a few rows has no pager.
    few = isinstance(value, pd.DataFrame) and len(value) <= page_size
    pagination = "remote" if remote else (None if few or pager is False else "local")
    return pn.widgets.Tabulator(value, pagination=pagination, page_size=page_size,
                                hidden_columns=list(hidden), **kwargs)


# Group kinds (groups() `kind`) as the admin center names them.
KIND_LABELS = {"microsoft365": "Microsoft 365 group", "security": "Security group",
               "mail_security": "Mail-enabled security", "distribution": "Distribution list",
               "dynamic_distribution": "Dynamic distribution list"}


def with_kind_labels(groups: pd.DataFrame) -> pd.DataFrame:
    """`groups` with its kind column in words."""
    if "kind" not in groups or groups.empty:
        return groups
    return groups.assign(kind=groups["kind"].map(KIND_LABELS).fillna(groups["kind"]))


# Headers wrap instead of ending in "…" on a narrow screen (configuration= of table()).
WRAP_HEADERS = {"columnDefaults": {"headerWordWrap": True}}


def wrapped_cells(fields, font_size: str = "13px") -> str:
    """A Tabulator stylesheet: the given columns' cells wrap their text (long words break where
    they must), so nothing is cut off; the table's text is a little smaller than the page's."""
    cells = ", ".join(f'.tabulator-cell[tabulator-field="{f}"]' for f in fields)
    return (f".tabulator, .tabulator .tabulator-cell, .tabulator .tabulator-col-title "
            f"{{ font-size: {font_size} !important; }}\n"
            f".tabulator .tabulator-cell .btn {{ font-size: {font_size}; }}\n"
            f"{cells} {{ white-space: normal !important; overflow-wrap: anywhere; "
            f"text-overflow: clip !important; }}")


def iso_utc(values) -> list[str]:
    """Times as UTC ISO text ("2026-12-01T07:15:00Z"), '' where there is none: what a column
    formatted with `local_time()` takes. ISO text also sorts in time order."""
    stamps = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, errors="coerce")
    return ["" if pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps]


def local_time(none: str = "never") -> dict:
    """A Tabulator formatter that shows a UTC ISO time (`iso_utc`) in the viewer's own time
    zone, as "2026-12-01 08:15"; the browser knows the zone, so no session has to ask for it.
    `none` is shown where there is no time. Give the column `tooltip: True` (configuration
    "columns") for the UTC time on hover."""
    return {"type": "datetime", "inputFormat": "iso", "outputFormat": "yyyy-MM-dd HH:mm",
            "invalidPlaceholder": none}


def header_filters(columns) -> dict:
    return {c: {"type": "input", "func": "like", "placeholder": "filter"} for c in columns}


# The plan dialog covers the viewport, wherever the button that asked for it was: a plan shown
# in the page's flow appeared above the viewport after a click at the bottom of a long page.
DIALOG_STYLES = {"position": "fixed", "top": "0", "left": "0", "width": "100vw",
                 "height": "100vh", "z-index": "1050", "margin": "0",
                 "background": "rgba(15, 23, 42, 0.45)", "display": "flex",
                 "align-items": "center", "justify-content": "center"}
CARD_STYLES = {"background": "#ffffff", "border-radius": "8px", "padding": "16px 20px",
               "box-shadow": "0 12px 40px rgba(0,0,0,0.3)", "max-height": "85vh",
               "overflow-y": "auto", "margin": "auto"}


def dialog_styles(shown: bool) -> dict:
    """The overlay's styles: laid out even while hidden (a table built or filled under
    `display: none` rendered no rows once shown), but off-screen and transparent then: Tabulator
    makes its own parts visible again inside a `visibility: hidden` parent."""
    # Every key both ways: a key left out of an update keeps its old value in the browser.
    return {**DIALOG_STYLES, "top": "0" if shown else "-300vh",
            "opacity": "1" if shown else "0",
            "visibility": "visible" if shown else "hidden",
            "pointer-events": "auto" if shown else "none"}


def plan_panel(vm) -> pn.viewable.Viewable:
    """The pending plan in a dialog over the page: its steps, its warnings, Confirm and Back;
    nothing is written before Confirm.

    Built once and shown or hidden: widgets re-created inside a re-rendered panel made the
    browser send their clicks as models the server did not know (Bokeh's "reference already
    known" warnings).
    """
    confirm = pn.widgets.Button(name="Confirm and apply", button_type="primary",
                                css_classes=["m365-confirm"], disabled=vm.param.busy)
    back = pn.widgets.Button(name="Back", button_type="light", css_classes=["m365-back"])
    confirm.on_click(action(vm, vm.confirm))
    back.on_click(lambda _e: vm.discard())
    title = pn.pane.HTML(pn.bind(lambda t: f"<h3>{html.escape(t)}</h3>These changes will be made "
                                 "in Microsoft 365:" if t else "", vm.param.pending_title),
                         css_classes=["m365-plan-title"], width=740)
    # Columns fit the card and their text wraps: fitted to the data, a long list of licenses
    # pushed the details out of the card.
    steps = table(pn.bind(plan_rows, vm.param.pending_steps), page_size=20,
                  layout="fit_columns", titles=STEP_TITLES, width=740,
                  widths={"step": 52, "action": 165, "target": 220},
                  stylesheets=[wrapped_cells(["action", "target", "detail"])],
                  css_classes=["m365-plan-steps"])
    warnings = pn.pane.Alert(pn.bind(lambda ws: "\n".join(f"- {w}" for w in ws),
                                     vm.param.pending_warnings),
                             alert_type="warning", css_classes=["m365-plan-warnings"], width=740,
                             visible=pn.bind(bool, vm.param.pending_warnings))
    card = pn.Column(title, steps, warnings, pn.Row(confirm, back), width=800,
                     styles=CARD_STYLES, css_classes=["m365-plan"])
    return pn.Column(card, css_classes=["m365-plan-dialog"],
                     styles=pn.bind(lambda t: dialog_styles(bool(t)), vm.param.pending_title))


STEP_TITLES = {"step": "#", "action": "Change", "target": "On", "detail": "Details"}


def plan_rows(steps: pd.DataFrame) -> pd.DataFrame:
    """A plan's steps as the dialog lists them (no internal columns)."""
    return steps[[c for c in STEP_TITLES if c in steps.columns]].reset_index(drop=True)


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
