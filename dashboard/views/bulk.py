"""Bulk page: upload a CSV, see problems and steps, apply with progress, download results."""
from __future__ import annotations

from io import StringIO

import panel as pn
from panel.viewable import Viewer

from .common import action, alerts, blockers_note, busy_bar, derived, table


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
        kind = pn.widgets.RadioButtonGroup.from_param(vm.param.kind, button_type="light")
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
            pn.pane.Markdown("## Bulk"), pn.Row(kind, template), upload, busy_bar(vm), alerts(vm),
            pn.pane.Markdown("### Problems"), table(vm.param.problems, page_size=20,
                                                    css_classes=["m365-bulk-problems"]),
            pn.pane.Markdown("### Plan"), table(vm.param.steps, page_size=20,
                                                css_classes=["m365-bulk-steps"]),
            pn.Row(skip, apply), blockers_note(vm.apply_blockers),
            pn.pane.Markdown("### Results"), pn.Row(results, passwords),
            pn.panel(pn.bind(lambda r: table(r, page_size=20) if r is not None else
                             pn.Column(height=0), vm.param.results)),
            sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
