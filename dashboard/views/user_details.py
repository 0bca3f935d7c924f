"""User details page: summary, mailbox, licenses (with source), groups (Teams, apps), roles,
devices, recent sign-ins."""
from __future__ import annotations

import html
from datetime import datetime

import numpy as np
import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..viewmodels.offboard import zone
from ..viewmodels.user_details import SUMMARY_FIELDS
from .common import (WRAP_HEADERS, alerts, iso_utc, local_time, table, with_kind_labels,
                     wrapped_cells)

LABELS = {"display_name": "Name", "user_principal_name": "Sign-in name", "tenant_name": "Tenant",
          "account_enabled": "Sign-in allowed", "given_name": "First name", "surname": "Last name",
          "job_title": "Job title", "department": "Department", "office_location": "Office",
          "usage_location": "Usage location", "mail": "Mail", "mobile_phone": "Mobile phone",
          "business_phones": "Business phone", "created": "Created (your time)",
          "last_sign_in": "Last sign-in (your time)", "id": "Object id"}


DEVICE_TITLES = {"deviceName": "Device", "operatingSystem": "Operating system",
                 "osVersion": "Version", "complianceState": "Compliance",
                 "lastSyncDateTime": "Last check-in (your time)"}
SIGN_IN_TITLES = {"createdDateTime": "Time (your time)", "appDisplayName": "App", "ipAddress": "IP address",
                  "location": "Location", "status": "Result"}


def _utc_on_hover(field: str) -> dict:
    """Graph's times are shown in the viewer's time zone (local_time); hovering shows UTC."""
    return {**WRAP_HEADERS, "columns": [{"field": field, "tooltip": True}]}


# The summary's and the mailbox's labels in one column of one width, so the two tables line up;
# a long value wraps inside its cell.
TH = "padding-right:1em;vertical-align:top"


def _table(css: str, rows: str) -> str:
    return (f"<table class='{css}' style='table-layout:fixed;width:100%;overflow-wrap:anywhere'>"
            f"<colgroup><col style='width:190px'><col></colgroup>{rows}</table>")


def _blank(value) -> bool:
    return value is None or (not isinstance(value, (str, bool)) and pd.isna(value))


def _cell(value, timezone: str = "UTC") -> str:
    """A summary value as a technician reads it: Yes/No, times to the minute in the viewer's
    time zone, blanks empty."""
    if _blank(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return stamp.tz_convert(zone(timezone)).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _summary_html(summary: dict, manager: str = "", timezone: str = "UTC") -> str:
    """The summary table; times in the viewer's time zone (UTC on hover, as in the tables)."""
    if not summary:
        return ""
    rows = []
    for key in SUMMARY_FIELDS:
        value = summary.get(key)
        text = _cell(value, timezone)
        hover = (f" title='{iso_utc([value])[0]} (UTC)'"
                 if isinstance(value, (pd.Timestamp, datetime)) and text else "")
        rows.append(f"<tr><th style='{TH}'>{LABELS[key]}</th>"
                    f"<td{hover}>{html.escape(text)}</td></tr>")
        if key == "department":          # read live: blank until Graph answers
            rows.append(f"<tr><th style='{TH}'>Manager</th><td class='m365-manager'>"
                        f"{html.escape(manager or 'reading…')}</td></tr>")
    return _table("m365-summary", "".join(rows))


SHARED_LIMIT = 50 * 1024 ** 3     # what an unlicensed shared mailbox may hold (services.exchange)
MUTED = "color:#6c757d"
RED = "color:#b00020"


def size_text(size) -> str:
    """Bytes as Exchange counts them (1 GB = 1024³ bytes): "12.3 GB", "50 GB", "350 MB"."""
    if _blank(size):
        return ""
    size = float(size)
    if size < 1024 ** 3:
        return f"{size / 1024 ** 2:.0f} MB"
    gb = size / 1024 ** 3
    return f"{gb:.0f} GB" if gb == int(gb) else f"{gb:.1f} GB"


def _mailbox_rows(box: dict) -> list[tuple[str, str]]:
    """(label, HTML) per line of an available mailbox."""
    kind = str(box.get("kind") or box.get("type") or "mailbox")
    size, quota = size_text(box.get("size_bytes")), size_text(box.get("quota_bytes"))
    used = f"{size} of {quota}" if size and quota else (size or "unknown")
    rows = [("Type", html.escape(kind[:1].upper() + kind[1:])), ("Size", html.escape(used))]
    if box.get("over_shared_limit"):
        rows.append(("", f"<span style='{RED}' class='m365-mailbox-over'>Over "
                         f"{size_text(SHARED_LIMIT)}: cannot become a shared mailbox without a "
                         "license.</span>"))
    to = box.get("forwarding_to")
    forward = (f"Forwards to {html.escape(str(to))}, "
               + ("keeps a copy" if box.get("keeps_copy") else "keeps no copy")) if to else \
        "No forwarding"
    rows += [("Forwarding", forward),
             ("Hidden from address lists", "Yes" if box.get("hidden") else "No")]
    full = [html.escape(str(f.get("name") or f.get("user") or ""))
            + (" (in their Outlook)" if f.get("automapping") else "")
            for f in box.get("full_access") or []]
    send_as = [html.escape(str(w)) for w in box.get("send_as") or []]
    rows += [("Full Access", "<br>".join(full) or f"<span style='{MUTED}'>No one else</span>"),
             ("Send As", "<br>".join(send_as) or f"<span style='{MUTED}'>No one else</span>")]
    return rows


def mailbox_html(box: dict, loading: bool = False) -> str:
    """The Mailbox section: a line while Exchange Online is read, the mailbox's facts, or why
    there is nothing to show, in a muted line."""
    if loading or not box:
        return (f"<div class='m365-mailbox' style='{MUTED}'>Reading the mailbox from Exchange "
                "Online…</div>" if loading else "")
    if not box.get("available"):
        reason = str(box.get("reason") or "not available")
        return (f"<div class='m365-mailbox m365-mailbox-unavailable' style='{MUTED}'>"
                f"{html.escape(reason[:1].upper() + reason[1:])}</div>")
    cells = "".join(f"<tr><th style='{TH}'>{label}</th>"
                    f"<td>{value}</td></tr>" for label, value in _mailbox_rows(box))
    return _table("m365-mailbox m365-summary", cells)


def follow_browser_time_zone(vm) -> None:
    """Keep `vm.timezone` at the viewer's time zone, which the browser reports once the page is
    in it (hence onload)."""
    def follow():
        info = getattr(pn.state, "browser_info", None)
        if info is None:
            return
        if getattr(info, "timezone", None):
            vm.timezone = info.timezone
        info.param.watch(lambda e: setattr(vm, "timezone", e.new or "UTC"), "timezone")
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.onload(follow)
    else:
        follow()


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
        follow_browser_time_zone(vm)
        mailbox = pn.Column(
            pn.pane.Markdown("### Mailbox", margin=(10, 10, 0, 10)),
            pn.Row(pn.indicators.LoadingSpinner(value=True, size=18, visible=vm.param.mailbox_loading,
                                                margin=(6, 0, 0, 10)),
                   pn.pane.HTML(pn.bind(mailbox_html, vm.param.mailbox, vm.param.mailbox_loading),
                                sizing_mode="stretch_width", css_classes=["m365-mailbox-pane"]),
                   margin=0),
            visible=pn.bind(bool, vm.param.summary), width=520)
        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown(title), pn.layout.HSpacer(), edit, offboard, restore, back),
            alerts(vm),
            pn.Row(pn.Column(pn.pane.HTML(pn.bind(_summary_html, vm.param.summary, vm.param.manager,
                                                  vm.param.timezone), width=520),
                             mailbox, width=540),
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
