"""User details page: summary, licenses (with source), groups (Teams, apps), roles, devices,
recent sign-ins."""
from __future__ import annotations

import html
from datetime import datetime

import numpy as np
import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..viewmodels.user_details import SUMMARY_FIELDS
from .common import WRAP_HEADERS, alerts, local_time, table, with_kind_labels, wrapped_cells

LABELS = {"display_name": "Name", "user_principal_name": "Sign-in name", "tenant_name": "Tenant",
          "account_enabled": "Sign-in allowed", "given_name": "First name", "surname": "Last name",
          "job_title": "Job title", "department": "Department", "office_location": "Office",
          "usage_location": "Usage location", "mail": "Mail", "mobile_phone": "Mobile phone",
          "business_phones": "Business phone", "created": "Created", "last_sign_in": "Last sign-in",
          "id": "Object id"}


DEVICE_TITLES = {"deviceName": "Device", "operatingSystem": "Operating system",
                 "osVersion": "Version", "complianceState": "Compliance",
                 "lastSyncDateTime": "Last check-in (your time)"}
SIGN_IN_TITLES = {"createdDateTime": "Time (your time)", "appDisplayName": "App", "ipAddress": "IP address",
                  "location": "Location", "status": "Result"}


def _utc_on_hover(field: str) -> dict:
    """Graph's times are shown in the viewer's time zone (local_time); hovering shows UTC."""
    return {**WRAP_HEADERS, "columns": [{"field": field, "tooltip": True}]}


def _cell(value) -> str:
    """A summary value as a technician reads it: Yes/No, times to the minute, blanks empty."""
    if value is None or (not isinstance(value, (str, bool)) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _summary_html(summary: dict, manager: str = "") -> str:
    if not summary:
        return ""
    rows = []
    for key in SUMMARY_FIELDS:
        text = _cell(summary.get(key))
        rows.append(f"<tr><th style='padding-right:1em'>{LABELS[key]}</th>"
                    f"<td>{html.escape(text)}</td></tr>")
        if key == "department":          # read live: blank until Graph answers
            rows.append("<tr><th style='padding-right:1em'>Manager</th><td class='m365-manager'>"
                        f"{html.escape(manager or 'reading…')}</td></tr>")
    return f"<table class='m365-summary'>{''.join(rows)}</table>"


class UserDetailsView(Viewer):
    def __init__(self, vm, open, **params):
        super().__init__(**params)
        self.vm = vm
        # A user who is gone (deleted, or not synced) offers no action but the way to Restore.
        exists = lambda summary: bool(summary)  # noqa: E731
        edit = pn.widgets.Button(name="Edit User", button_type="primary", css_classes=["m365-edit"],
                                 visible=pn.bind(lambda s: exists(s) and vm.may("edit"),
                                                 vm.param.summary))
        offboard = pn.widgets.Button(name="Offboard User", button_type="danger",
                                     css_classes=["m365-offboard"],
                                     visible=pn.bind(lambda s: exists(s) and vm.may("offboard"),
                                                     vm.param.summary))
        restore = pn.widgets.Button(name="Deleted users (Restore)", button_type="success",
                                    css_classes=["m365-open-restore"],
                                    visible=pn.bind(lambda s: not exists(s) and vm.may("restore"),
                                                    vm.param.summary))
        restore.on_click(lambda _e: open("activity", vm.tenant, ""))
        back = pn.widgets.Button(name="Back to All Users", button_type="light")
        edit.on_click(lambda _e: open("edit", vm.tenant, vm.user))
        offboard.on_click(lambda _e: open("offboard", vm.tenant, vm.user))
        back.on_click(lambda _e: open("users", vm.tenant, ""))
        title = pn.bind(lambda s: f"## {s.get('display_name') or 'User not found'}", vm.param.summary)
        small = dict(page_size=10, layout="fit_data_stretch", pager=False)
        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown(title), pn.layout.HSpacer(), edit, offboard, restore, back),
            alerts(vm),
            pn.Row(pn.pane.HTML(pn.bind(_summary_html, vm.param.summary, vm.param.manager),
                                width=520),
                   pn.Column(pn.pane.Markdown("### Licenses"),
                             table(vm.param.licenses, empty="No licenses",
                                   titles={"product_name": "License", "sku_part_number": "SKU",
                                           "source": "Assigned"},
                                   **{**small, "layout": "fit_columns"},
                                   stylesheets=[wrapped_cells(["product_name", "sku_part_number",
                                                               "source"])]),
                             pn.pane.Markdown("### Roles"),
                             table(vm.param.roles, empty="No directory roles",
                                   titles={"display_name": "Role", "directory_scope_id": "Scope"},
                                   **small),
                             sizing_mode="stretch_width")),
            pn.pane.Markdown("### Groups"),
            table(pn.bind(with_kind_labels, vm.param.groups), empty="In no groups",
                  formatters={"is_team": {"type": "tickCross"}},
                  titles={"display_name": "Group", "kind": "Kind", "is_team": "Team",
                          "apps": "Apps"}, **small),
            pn.pane.Markdown("### Devices"),
            pn.pane.Markdown(vm.param.devices_note, css_classes=["m365-devices-note"]),
            table(vm.param.devices, titles=DEVICE_TITLES, empty="No managed devices",
                  formatters={"lastSyncDateTime": local_time("")},
                  configuration=_utc_on_hover("lastSyncDateTime"), **small),
            pn.pane.Markdown("### Recent sign-ins"),
            table(vm.param.sign_ins, titles=SIGN_IN_TITLES, empty="No recent sign-ins",
                  formatters={"createdDateTime": local_time("")},
                  configuration=_utc_on_hover("createdDateTime"),
                  **{**small, "layout": "fit_columns"}, widths={"createdDateTime": 150},
                  stylesheets=[wrapped_cells(["appDisplayName", "location", "status"])]),
            sizing_mode="stretch_width", css_classes=["m365-user-details"])

    def __panel__(self):
        return self._layout
