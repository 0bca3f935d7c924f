"""All Users page: tenant picker, search, the paged table with row actions, Create User, CSV."""
from __future__ import annotations

import panel as pn
from bokeh.models.widgets.tables import DateFormatter
from panel.viewable import Viewer

from .common import WRAP_HEADERS, alerts, csv_download, header_filters, table, wrapped_cells

ACTIONS = {"details": "Details", "edit": "Edit", "offboard": "Offboard"}
# The page each row action opens.
OPENS = {"details": "user", "edit": "edit", "offboard": "offboard"}
# Share of the table's width per column: everything, row actions included, fits the page.
# Pixels for the short columns; the text columns (tenant, name, sign-in name, department, job
# title) share the rest and wrap.
WIDTHS = {"licenses_shown": 140, "mailbox": 80, "account_enabled": 72, "last_sign_in": 84,
          "details": 56, "edit": 38, "offboard": 66}
# Text columns wrap instead of ending mid-word: "Microsoft 365 Business Basic" and "... Premium"
# must stay apart, and a sign-in name breaks where it must rather than being cut.
WRAPPED = ["tenant_name", "display_name", "user_principal_name", "licenses_shown"]

# In the rows (row actions, filters, CSV) but not shown.
HIDDEN = ["tenant_id", "id", "licenses", "licensed", "shared_to_tidy"]

PAGE_HEIGHT = 620


class UsersView(Viewer):
    """Thin view over UsersViewModel; `open(action, tenant_id, user_id)` is the app's router."""

    def __init__(self, vm, open, **params):
        super().__init__(**params)
        self.vm, self._open = vm, open
        tenant = pn.widgets.Select.from_param(vm.param.tenant, name="Tenant", width=260)
        # One way, box to view model: a box linked both ways got each filtered text sent back
        # while the person kept typing, and the echo overwrote the keys typed meanwhile.
        search = pn.widgets.TextInput(name="Search", value=vm.search, width=300,
                                      placeholder="name, sign-in, department, job title",
                                      css_classes=["m365-search"])

        async def typed(event):
            await vm.type_search(event.new or "")
        search.param.watch(typed, "value_input")
        licensed = pn.widgets.RadioButtonGroup.from_param(vm.param.licensed, name="Licenses",
                                                          button_type="light")
        to_tidy = pn.widgets.Checkbox.from_param(
            vm.param.shared_to_tidy, name="Shared mailboxes to tidy: licensed or sign-in allowed",
            css_classes=["m365-shared-to-tidy"], margin=(8, 10, 0, 30))
        # What the role may not do is not offered (services refuse it anyway).
        actions = {k: v for k, v in ACTIONS.items() if k == "details" or vm.may(k)}
        create = pn.widgets.Button(name="Create User", button_type="primary",
                                   css_classes=["m365-create-user"], visible=vm.may("onboard"))
        create.on_click(lambda _e: open("create", vm.tenant, ""))
        export = csv_download(vm.export_csv, vm.export_filename(), "Export CSV")
        vm.param.watch(lambda e: setattr(export, "filename", vm.export_filename()), "tenant")
        # 25 rows a page in a table of fixed height: Tabulator then lays out only the rows in
        # view, which took half the time of a page of 50 measured row by row (first rows of
        # All Users, docs/BENCHMARKS.md).
        self.table = table(vm.param.filtered, remote=True, hidden=HIDDEN,
                           page_size=25, height=PAGE_HEIGHT,
                           buttons={k: f"<button class='btn btn-sm btn-link p-0' title='{v} user'>{v}</button>"
                                    for k, v in actions.items()},
                           header_filters=header_filters(["tenant_name", "display_name",
                                                          "user_principal_name", "department",
                                                          "job_title", "licenses_shown"]),
                           titles={"tenant_name": "Tenant", "display_name": "Name",
                                   "user_principal_name": "Sign-in name", "department": "Department",
                                   "job_title": "Job title", "licenses_shown": "Licenses",
                                   "mailbox": "Mailbox", "account_enabled": "Enabled",
                                   "last_sign_in": "Last sign-in",
                                   **{k: "" for k in actions}},
                           formatters={"account_enabled": {"type": "tickCross"},
                                       "last_sign_in": DateFormatter(format="%Y-%m-%d",
                                                                     nan_format="never",
                                                                     null_format="never")},
                           widths={k: v for k, v in WIDTHS.items() if k not in ACTIONS or k in actions},
                           # Columns shrink to the page so the row actions stay in view.
                           layout="fit_columns",
                           configuration=WRAP_HEADERS,
                           stylesheets=[wrapped_cells(WRAPPED)],
                           css_classes=["m365-users"])
        for action in actions:
            self.table.on_click(lambda e, a=action: self._clicked(a, e), column=action)
        # Header filters count too: the view model filters by them, so the count is the rows
        # every filter leaves.
        self.table.param.watch(lambda e: vm.set_column_filters(e.new), "filters")
        count = pn.pane.Markdown(pn.bind(lambda df, total: f"{len(df):,} of {total:,} users",
                                         vm.param.filtered, vm.param.total),
                                 css_classes=["m365-user-count"])
        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown("## All Users"), pn.layout.HSpacer(), create, export),
            pn.Row(tenant, search, pn.Column(pn.pane.Markdown("Licenses", margin=(0, 10)), licensed)),
            pn.Row(count, to_tidy), alerts(vm), self.table, sizing_mode="stretch_width")

    def _clicked(self, action: str, event) -> None:
        row = self.vm.row(event.row)
        self._open(OPENS[action], str(row["tenant_id"]), str(row["id"]))

    def __panel__(self):
        return self._layout
