"""Bulk page: upload a CSV, see problems and steps, apply with progress, download results."""
from __future__ import annotations

from io import StringIO

import panel as pn
from panel.viewable import Viewer

from .common import action, alerts, blockers_note, busy_bar, derived, table

# One line on the template's format, per kind, under the download button.
HINTS = {"onboard": "One user per row. User Name is the full sign-in name, or the part before the "
                    "@ with a Domain column. Licenses, Groups and Roles: several separated by ';' "
                    "(SKU part number or product name). Template: a template's name fills what the "
                    "row leaves empty.",
         "offboard": "One user per row (sign-in name or object id). Yes/No columns choose the "
                     "steps; When (e.g. 2026-12-05T17:00+01:00) schedules the row, empty runs now.",
         "update": "One user per row; only the columns you fill are changed. An empty cell "
                   "changes nothing."}
PROBLEM_TITLES = {"row": "Row", "column": "Column", "problem": "Problem"}
STEP_TITLES = {"row": "Row", "user": "User", "step": "Change", "target": "On",
               "outcome": "Outcome", "error": "Why it failed"}


class BulkView(Viewer):
    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        if not vm.available:
            self._layout = pn.Column(pn.pane.Markdown("## Bulk"), pn.pane.Alert(
                "Bulk jobs are not available in this installation: its services are older than "
                "the dashboard. Reinstall the dashboard (make venv) to get them.",
                alert_type="warning"))
            return
        kind = pn.widgets.RadioButtonGroup.from_param(vm.param.kind, button_type="light",
                                                     description=None)
        upload = pn.widgets.FileInput(accept=".csv,text/csv", css_classes=["m365-bulk-file"])
        async def uploaded(event):
            if event.new:
                await action(vm, vm.upload, event.new, upload.filename or "upload.csv")()
        upload.param.watch(uploaded, "value")
        template = pn.widgets.FileDownload(callback=lambda: StringIO(vm.template_csv()),
                                           filename="template.csv", label="Download template",
                                           button_type="light", embed=False)
        vm.param.watch(lambda e: setattr(template, "filename", f"bulk-{e.new}-template.csv"), "kind")
        skip = pn.widgets.Checkbox.from_param(vm.param.skip_invalid,
                                              name="Apply only the valid rows")
        apply = pn.widgets.Button(name="Apply", button_type="primary",
                                  disabled=derived(vm.apply_blockers),
                                  css_classes=["m365-bulk-apply"])
        apply.on_click(action(vm, vm.apply))
        results = pn.widgets.FileDownload(callback=lambda: StringIO(vm.results_csv()),
                                          filename="bulk-results.csv", label="Download results",
                                          button_type="light", embed=False,
                                          visible=pn.bind(lambda r: r is not None, vm.param.results))
        passwords = pn.widgets.FileDownload(callback=lambda: StringIO(vm.passwords_csv()),
                                            filename="bulk-passwords.csv",
                                            label="Download generated passwords (once)",
                                            button_type="warning", embed=False,
                                            visible=pn.bind(bool, vm.param.passwords))
        self._layout = pn.Column(
            pn.pane.Markdown("## Bulk"), pn.Row(kind, template),
            pn.pane.Markdown(pn.bind(lambda k: f"*{HINTS.get(k, '')}*", vm.param.kind),
                             styles={"color": "#6c757d"}, css_classes=["m365-bulk-hints"]),
            upload, busy_bar(vm), alerts(vm),
            # The file's problems and plan appear once a file is read: no empty grids before.
            pn.Column(pn.pane.Markdown("### Problems"),
                      table(vm.param.problems, page_size=20, titles=PROBLEM_TITLES,
                            empty="No problems: every row can be applied",
                            css_classes=["m365-bulk-problems"]),
                      pn.pane.Markdown("### Plan"),
                      table(vm.param.steps, page_size=20, titles=STEP_TITLES,
                            empty="No valid row to apply", css_classes=["m365-bulk-steps"]),
                      visible=pn.bind(lambda s, p: len(s) > 0 or len(p) > 0, vm.param.steps,
                                      vm.param.problems), sizing_mode="stretch_width"),
            pn.Row(skip, apply), blockers_note(vm.apply_blockers),
            pn.pane.Markdown(pn.bind(lambda r: "### Results" if r is not None else "",
                                     vm.param.results)),
            pn.Row(results, passwords),
            pn.panel(pn.bind(lambda r: table(r, page_size=20, titles=STEP_TITLES) if r is not None
                             else pn.Column(height=0), vm.param.results)),
            sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
