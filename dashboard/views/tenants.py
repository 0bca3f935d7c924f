"""All Tenants page: tenant figures, what the app may do in each tenant (Access) with its fix,
sync switch per tenant, sync now, check access, portal links."""
from __future__ import annotations

import html
import re

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from services import access as A

from ..viewmodels.tenants import ROLE_MARK, portal_links
from .common import (WRAP_HEADERS, action, alerts, busy_bar, iso_utc, local_time, table,
                     wrapped_cells)


SHORT = {"Microsoft 365 admin": "M365"}
# The columns shown, in order, with their share of the page's width: every column fits, so
# nothing hides behind a sideways scroll. The tenant cell carries its domain and portal links,
# the Access cell its status, what is missing and the fix, and counts are joined into short
# texts; the raw numbers stay in `m365.tenants()`.
SHOWN = {"tenant": "17%", "access_html": "18%", "users_text": "9%", "seats_text": "8%",
         "seats_available": "6%", "skus_out_of_seats": "6%", "last_sync": "10%", "synced": "6%",
         "last_error": "11%", "sync_now": "8%"}
# Cells that wrap (at the table's slightly smaller font, as on All Users) instead of ending in "…".
WRAPPED = ["tenant", "access_html", "users_text", "seats_text", "last_sync", "last_error"]
TITLES = {"tenant": "Tenant", "access_html": "Access", "users_text": "Users",
          "seats_text": "Paid seats", "seats_available": "Seats left",
          "skus_out_of_seats": "Full SKUs", "last_sync": "Last sync (your time)", "synced": "Sync on",
          "last_error": "Last error", "sync_now": ""}
COLORS = {A.READY: "#198754", A.MISSING: "#b35c00", A.NOT_CHECKED: "#6c757d"}   # else red
SHOWN_OFF = 2          # switched-off features named in the cell; the tooltip has them all
_WHY = re.compile(r" \((needs [^)]*)\)$")


def _links_html(links: dict[str, str]) -> str:
    return " · ".join(f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer" '
                      f'title="{html.escape(name)}">{html.escape(SHORT.get(name, name))}</a>'
                      for name, url in links.items())


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _tenant_html(name, domain, tenant_id) -> str:
    # Wraps instead of ending in "…" when the page is narrow (1280 px).
    domain = html.escape(_text(domain)) or "<i>domains not read yet</i>"
    return (f"<div style='white-space:normal'><b>{html.escape(_text(name) or tenant_id)}</b>"
            f"<br><small><span style='color:#6c757d;overflow-wrap:anywhere'>{domain}</span><br>"
            f"{_links_html(portal_links(tenant_id))}</small></div>")


def _consent_link(url: str, label: str) -> str:
    return (f'<a class="m365-grant-consent" href="{html.escape(url)}" target="_blank" '
            f'rel="noopener noreferrer" title="Opens Microsoft\'s admin-consent page for this '
            f'tenant: a Global Administrator of the tenant signs in and accepts">{label}</a>')


def access_html(row: dict) -> str:
    """The Access cell: the status in words, what is missing or off, the fix one click away
    (the consent link) and, in the tooltip, the whole fix."""
    status = _text(row.get("access")) or A.NOT_CHECKED
    off = [o for o in _text(row.get("access_off")).split(A.SEP) if o]
    lines = [f"<b style='color:{COLORS.get(status, '#b02a37')}'>"
             f"{html.escape(_text(row.get('access_words')))}</b>"]
    url = _text(row.get("consent_url"))
    if status == A.MISSING:
        lines.append(f"<small>Missing: <code>{html.escape(_text(row.get('missing_permissions')))}"
                     "</code></small>")
    if status in (A.MISSING, A.READY) and off:
        shown = [_WHY.sub("", o) if status == A.MISSING else o for o in off[:SHOWN_OFF]]
        more = f" and {len(off) - SHOWN_OFF} more" if len(off) > SHOWN_OFF else ""
        lines.append(f"<small>Off: {html.escape('; '.join(shown))}{more}</small>")
    if status == A.NO_CONSENT and url:
        lines.append(_consent_link(url, "Grant consent"))
    elif status == A.MISSING:
        missing = A.split(row.get("missing_permissions"))
        grants = [m for m in missing if not m.endswith(ROLE_MARK)]
        if grants and url:
            lines.append(f"<small>Add {'it' if len(grants) == 1 else 'them'} to the app, then "
                         f"{_consent_link(url, 'grant consent again')}</small>")
        if len(grants) < len(missing):
            lines.append("<small>Assign the role to the app in Entra (Roles and "
                         "administrators)</small>")
    elif status in (A.EXPIRED, A.UNKNOWN, A.NOT_CHECKED):
        fix = _text(row.get("access_fix"))
        lines.append(f"<small>{html.escape(fix[:1].upper() + fix[1:])}</small>")
    tip = [_text(row.get("access_words"))]
    if off and status not in A.BLOCKING:
        tip.append("Switched off: " + "; ".join(off))
    if _text(row.get("access_fix")):
        tip.append("Fix: " + _text(row.get("access_fix")))
    if _text(row.get("access_detail")):
        tip.append("Entra ID said: " + _text(row.get("access_detail")))
    return (f"<div class='m365-access m365-access-{status.replace(' ', '-')}' "
            f"style='white-space:normal;line-height:1.35' title=\"{html.escape(chr(10).join(tip))}\">"
            f"{'<br>'.join(lines)}</div>")


def error_html(error, status) -> str:
    """The Last error cell: the sync error, or, when the app cannot sign in to the tenant at
    all, a pointer to the Access column (the whole error stays in the tooltip)."""
    error = _text(error)
    if not error:
        return ""
    shown = (f"Sync stopped: {status} (see Access)" if status in A.BLOCKING else error)
    return (f"<div style='white-space:normal' title=\"{html.escape(error)}\">"
            f"{html.escape(shown)}</div>")


class TenantsView(Viewer):
    """Thin view over TenantsViewModel."""

    def __init__(self, vm, **params):
        super().__init__(**params)
        self.vm = vm
        self.table = table(self._shown(vm.frame), layout="fit_columns", widths=SHOWN, disabled=False,
                           buttons={"sync_now": "<button class='btn btn-sm btn-outline-primary'>Sync now</button>"},
                           editors={c: None for c in SHOWN if c not in ("synced", "sync_now")}
                           | {"synced": {"type": "tickCross"} if vm.may("sync_settings") else None},
                           formatters={"synced": {"type": "tickCross"}, "tenant": {"type": "html"},
                                       "access_html": {"type": "html"},
                                       "users_text": {"type": "textarea"},
                                       "seats_text": {"type": "textarea"},
                                       "last_error": {"type": "html"},
                                       "last_sync": local_time("never")},
                           titles=TITLES, hidden=["tenant_id"], css_classes=["m365-tenants"],
                           configuration={**WRAP_HEADERS,      # the UTC time on hover
                                          "columns": [{"field": "last_sync", "tooltip": True}]},
                           stylesheets=[wrapped_cells(WRAPPED)])
        vm.param.watch(lambda e: setattr(self.table, "value", self._shown(e.new)), "frame")
        self.table.on_edit(self._edited)
        self.table.on_click(self._clicked, column="sync_now")
        sync_all = pn.widgets.Button(name="Sync all now", button_type="primary",
                                     disabled=vm.param.busy, css_classes=["m365-sync-all"])
        sync_all.on_click(action(vm, vm.sync_now))
        check = pn.widgets.Button(name="Check access", button_type="light",
                                  disabled=vm.param.busy, css_classes=["m365-check-access"],
                                  description="Ask Microsoft now what the app may do in each "
                                              "tenant (consent, permissions, roles)")
        check.on_click(action(vm, vm.check_access))
        self._layout = pn.Column(
            pn.pane.Markdown("## All Tenants"),
            pn.Row(sync_all, check, busy_bar(vm)), alerts(vm), self.table,
            sizing_mode="stretch_width")

    @staticmethod
    def _shown(frame):
        columns = ["tenant_id", *[c for c in SHOWN if c != "sync_now"]]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        df = frame.reset_index(drop=True)
        out = pd.DataFrame({"tenant_id": df["tenant_id"]})
        out["tenant"] = [_tenant_html(n, d, t) for n, d, t in
                         zip(df["display_name"], df["default_domain"], df["tenant_id"])]
        status = df["access"] if "access" in df else pd.Series(A.NOT_CHECKED, index=df.index)
        out["access_html"] = [access_html(r) for r in df.to_dict("records")]
        count = lambda col: df[col].fillna(0).astype(int)  # noqa: E731
        # A tenant never read (no consent) has no figures, not zero users and zero seats.
        unread = df["users"].isna() & df["last_sync"].isna()
        out["users_text"] = ["not read yet" if no else f"{u:,} ({lic:,} lic.)"
                             for no, u, lic in zip(unread, count("users"), count("licensed_users"))]
        # Paid seats only: SKUs sold by the thousand (free, viral) would make "103 of 10,206".
        out["seats_text"] = ["" if no else f"{c:,} of {t:,}" for no, c, t in
                             zip(unread, count("paid_consumed"), count("paid_total"))]
        out["seats_available"] = (count("paid_total") - count("paid_consumed")).astype("Int64") \
            .mask(unread.to_numpy())
        out["skus_out_of_seats"] = df["skus_out_of_seats"]
        out["last_sync"] = iso_utc(df["last_sync"])
        out["synced"] = df["synced"]
        out["last_error"] = [error_html(e, s) for e, s in zip(df["last_error"], status)]
        return out

    async def _edited(self, event) -> None:
        if event.column == "synced":
            row = self.table.value.iloc[event.row]
            await action(self.vm, self.vm.set_sync, row["tenant_id"], bool(event.value))()

    async def _clicked(self, event) -> None:
        await action(self.vm, self.vm.sync_now, self.table.value.iloc[event.row]["tenant_id"])()

    def __panel__(self):
        return self._layout
