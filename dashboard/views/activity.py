"""Activity page: scheduled offboardings (Cancel), the audit log (filter, export) and deleted
users with Restore."""
from __future__ import annotations

import html

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from .common import (CARD_STYLES, WRAP_HEADERS, action, alerts, busy_bar, csv_download,
                     dialog_styles, header_filters, local_time, plan_panel, table,
                     wrapped_cells)

OUTCOMES = ["", "done", "partial", "failed", "denied", "refused"]

CANCEL_BUTTON = ("<button class='btn btn-sm btn-outline-danger py-0' "
                 "title='Cancel this scheduled offboarding'>Cancel</button>")
SCHEDULE_TITLES = {"user": "User", "tenant": "Tenant", "options": "Steps", "at": "When",
                   "scheduled_by": "Scheduled by", "status": "Status", "outcome": "Outcome",
                   "late": "Late", "cancel": ""}
# Fixed widths for the short columns; the others share the rest (fit_columns, user and outcome
# twice as much) and follow the window when it is resized. Every column stays in view at 1280 px,
# its text wrapping rather than ending in "…".
SCHEDULE_WIDTHS = {"at": 120, "scheduled_by": 120, "status": 100, "late": 90, "cancel": 90}
SCHEDULE_GROW = {"columns": [{"field": "user", "widthGrow": 2},
                             {"field": "tenant", "widthGrow": 1.5},
                             {"field": "options", "widthGrow": 1.5},
                             {"field": "outcome", "widthGrow": 2}]}
WRAPPED = {"type": "textarea"}
# Sign-in names have no spaces to wrap at: let them break anywhere instead of being cut off.
BREAK_ANYWHERE = [".tabulator-cell { overflow-wrap: anywhere; }"]


def schedule_table_rows(rows: pd.DataFrame, may_cancel: bool) -> pd.DataFrame:
    """The view model's rows with a Cancel button where the job can be cancelled."""
    if not may_cancel:
        return rows
    return rows.assign(cancel=[CANCEL_BUTTON if ok else "" for ok in rows["can_cancel"]])


def cancel_dialog(vm) -> pn.viewable.Viewable:
    """"Cancel this scheduled offboarding?" over the page, in view wherever the click was
    (built once and shown or hidden, like the plan dialog)."""
    question = pn.pane.HTML(pn.bind(lambda q: f"<h3>Cancel a scheduled offboarding</h3>"
                                    f"<p>{html.escape(q)}</p>" if q else "",
                                    vm.param.cancel_question),
                            css_classes=["m365-cancel-question"], width=520)
    confirm = pn.widgets.Button(name="Cancel the offboarding", button_type="danger",
                                css_classes=["m365-confirm-cancel"])
    keep = pn.widgets.Button(name="Keep it scheduled", button_type="light",
                             css_classes=["m365-keep-scheduled"])
    confirm.on_click(action(vm, vm.confirm_cancel))
    keep.on_click(lambda _e: vm.keep_scheduled())
    card = pn.Column(question, pn.Row(confirm, keep), width=560, styles=CARD_STYLES,
                     css_classes=["m365-cancel-card"])
    return pn.Column(card, css_classes=["m365-cancel-dialog"],
                     styles=pn.bind(lambda q: dialog_styles(bool(q)), vm.param.cancel_question))


class ActivityView(Viewer):
    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        tenant = pn.widgets.Select.from_param(vm.param.tenant, name="Tenant", width=240)
        kind = pn.widgets.Select(name="Action", options=vm.actions(), width=160)
        kind.link(vm, value="action")
        outcome = pn.widgets.Select(name="Outcome", options=OUTCOMES, width=120)
        outcome.link(vm, value="outcome")
        search = pn.widgets.TextInput(name="Actor or user", width=240)
        search.param.watch(lambda e: setattr(vm, "search", e.new), "value_input")
        export = csv_download(vm.export_csv, "audit-log.csv", "Export CSV")
        restore = ({"restore": "<button class='btn btn-sm btn-outline-success'>Restore</button>"}
                   if vm.may("restore") else {})
        self.deleted = table(vm.param.deleted, hidden=["tenant_id", "id"], buttons=restore,
                             titles={"tenant": "Tenant", "display_name": "Name",
                                     "user_principal_name": "Sign-in name", "deleted": "Deleted",
                                     "days_left": "Days left", "restorable": "Restorable",
                                     "restore": ""}, css_classes=["m365-deleted"],
                             formatters={"restorable": {"type": "tickCross"}},
                             # Columns share the page's width, so Restore stays in view.
                             layout="fit_columns",
                             widths={"tenant": "18%", "display_name": "16%",
                                     "user_principal_name": "28%", "deleted": "14%",
                                     "days_left": "8%", "restorable": "8%", "restore": "8%"},
                             stylesheets=[wrapped_cells(["tenant", "display_name",
                                                         "user_principal_name", "deleted"])],
                             empty="No deleted users")
        if restore:
            async def restore_clicked(event):
                await action(vm, vm.restore, event.row)()
            self.deleted.on_click(restore_clicked, column="restore")
        may_cancel = vm.may("offboard")
        self.scheduled = table(pn.bind(schedule_table_rows, vm.param.scheduled, may_cancel),
                               hidden=["can_cancel", "id"], layout="fit_columns",
                               page_size=10, titles=SCHEDULE_TITLES,
                               configuration={**WRAP_HEADERS, **SCHEDULE_GROW},
                               stylesheets=BREAK_ANYWHERE,
                               widths={k: v for k, v in SCHEDULE_WIDTHS.items()
                                       if k != "cancel" or may_cancel},
                               formatters={**{k: WRAPPED for k in SCHEDULE_TITLES
                                              if k != "cancel"}, "cancel": {"type": "html"}},
                               selectable=False, css_classes=["m365-scheduled"],
                               empty="No scheduled offboardings")
        if may_cancel:
            def cancel_clicked(event):
                if bool(vm.scheduled.iloc[event.row]["can_cancel"]):   # an empty cell: nothing
                    vm.ask_cancel(event.row)
            self.scheduled.on_click(cancel_clicked, column="cancel")
        refresh = pn.widgets.Button(name="Refresh", button_type="light")
        refresh.on_click(action(vm, vm.refresh))
        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown("## Activity"), pn.layout.HSpacer(), refresh, export),
            busy_bar(vm), alerts(vm), plan_panel(vm), cancel_dialog(vm),
            tenant,
            pn.pane.Markdown("### Scheduled offboardings"), self.scheduled,
            pn.pane.Markdown("### Audit log"),
            pn.Row(kind, outcome, search),
            table(vm.param.entries, remote=True, layout="fit_columns", css_classes=["m365-audit"],
                  header_filters=header_filters(["actor", "tenant", "user", "action", "outcome"]),
                  titles={"time": "Time (your time)", "actor": "Who", "role": "Role",
                          "tenant": "Tenant", "user": "User", "action": "Action",
                          "outcome": "Outcome", "detail": "What happened"},
                  formatters={"time": local_time(""),
                              **{k: WRAPPED for k in ("actor", "tenant", "user", "action",
                                                      "detail")}},
                  configuration={**WRAP_HEADERS,
                                 # The UTC time on hover.
                                 "columns": [{"field": "detail", "widthGrow": 3},
                                             {"field": "time", "tooltip": True}]},
                  stylesheets=BREAK_ANYWHERE,
                  widths={"time": 165, "role": 80, "outcome": 100},
                  empty="No activity matches these filters"),
            pn.pane.Markdown("### Deleted users (restorable for 30 days)"), self.deleted,
            sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
