"""All Users: tenant picker, search, the filtered table and its row actions, CSV export.

The whole listing stays in this process: the table sends one page at a time to the browser
(remote pagination), and `filtered` is recomputed here, so 100,000 users never cross the wire.
"""
from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import param

from services.exports import to_csv

from .base import PageViewModel
from .listing_cache import TABLE_COLUMNS, user_listing

ALL = ""           # the tenant picker's "All tenants" value
LICENSE_FILTERS = {"Any": "any", "Licensed": "licensed", "Unlicensed": "unlicensed"}


def tenant_choices(tenants: pd.DataFrame) -> dict[str, str]:
    """Picker labels -> tenant ids, 'All tenants' first; a duplicate name gets its domain."""
    names = tenants["display_name"].astype(str)
    dupes = set(names[names.duplicated(keep=False)])
    out = {"All tenants": ALL}
    for row in tenants.sort_values("display_name").itertuples():
        label = str(row.display_name)
        out[f"{label} ({row.default_domain})" if label in dupes else label] = row.tenant_id
    return out


class UsersViewModel(PageViewModel):
    """State and actions of the All Users page."""

    tenant = param.Selector(default=ALL, objects={"All tenants": ALL}, check_on_set=False,
                            doc="Tenant id whose users are listed; '' lists every tenant.")
    search = param.String(default="", doc="Text matched (any case) against display name, user "
                                          "principal name, department and job title.")
    licensed = param.Selector(default="any", objects=LICENSE_FILTERS, doc="Show every user, "
                              "only licensed or only unlicensed users.")
    shared_to_tidy = param.Boolean(default=False, doc="Show only shared mailboxes that still "
                                   "hold a license or still allow sign-in (a shared mailbox "
                                   "needs neither; the admin center and Lighthouse flag both).")
    column_filters = param.Dict(default={}, doc="Column -> text typed in the table's header "
                                "filter; a row shows when each column contains its text (any case).")
    filtered = param.DataFrame(default=pd.DataFrame(columns=TABLE_COLUMNS), doc="The rows the "
                               "table pages through: the listing after the tenant, search, "
                               "license and column filters, in TABLE_COLUMNS.")
    total = param.Integer(default=0, doc="Users of the chosen tenant (or of every tenant) "
                                         "before the other filters.")
    loaded = param.Boolean(default=False, doc="Whether the listing was read at least once.")

    def __init__(self, **params):
        super().__init__(**params)
        self._all = pd.DataFrame(columns=TABLE_COLUMNS)
        self._key = pd.Series(dtype=str)
        self._typed: str | None = None        # the newest text typed while a search runs
        self._searching = False
        self._ready: tuple | None = None     # (filters, rows) computed off the event loop

    def refresh(self) -> None:
        """Bring the listing up to date with the store, keeping the filters (after a sync or a
        write, here or in another process sharing the store)."""
        self._use(user_listing(self.m365))

    def refresh_tenant(self, tenant_id: str) -> None:
        """Re-read one tenant's users after a write there, keeping every other row as it is."""
        self._use(user_listing(self.m365, stale_tenants=[tenant_id]))

    def show_tenant(self, tenant: str) -> None:
        """Ready the page for `tenant` ('' for all): the listing read (once, then kept up to
        date), and the picker set when the tenant is one of the listing's."""
        if not self.loaded:
            self.refresh()
        if tenant != self.tenant and tenant in self.param.tenant.objects.values():
            self.tenant = tenant

    def _use(self, listing) -> None:
        self.param.tenant.objects = tenant_choices(listing.tenants)
        self._all, self._key = listing.frame, listing.key
        self.loaded = True
        self._ready = None
        self._filter()

    def _filters(self, search: str | None = None) -> tuple:
        """The filters now, with `search` in place of the box's text when given."""
        return (self.tenant, self.search if search is None else search, self.licensed,
                self.shared_to_tidy, tuple(sorted(self.column_filters.items())))

    def _rows(self, filters: tuple) -> tuple[pd.DataFrame, int]:
        """(rows, users in the tenant's scope) for `filters`; reads only immutable frames, so it
        may run in a worker thread while the page takes more keys."""
        tenant, search, licensed, to_tidy, columns = filters
        frame, key = self._all, self._key
        mask = np.ones(len(frame), dtype=bool)
        if tenant:
            mask &= (frame["tenant_id"] == tenant).to_numpy()
        in_scope = int(mask.sum())
        text = search.strip().lower()
        if text:
            mask &= key.str.contains(text, regex=False).to_numpy()
        if licensed != "any":
            has = frame["licensed"].to_numpy(dtype=bool)
            mask &= has if licensed == "licensed" else ~has
        if to_tidy:
            mask &= frame["shared_to_tidy"].to_numpy(dtype=bool)
        for column, value in columns:
            value = str(value or "").strip().lower()
            if value and column in frame.columns:
                cells = frame[column].astype(object).fillna("").astype(str).str.lower()
                if column == "licenses_shown":      # the short names or the full ones
                    cells = cells + "\n" + frame["licenses"].fillna("").astype(str).str.lower()
                mask &= cells.str.contains(value, regex=False).to_numpy()
        return frame[mask], in_scope

    @param.depends("tenant", "search", "licensed", "shared_to_tidy", "column_filters", watch=True)
    def _filter(self) -> None:
        filters = self._filters()
        if self._ready is not None and self._ready[0] == filters:
            rows, in_scope = self._ready[1]
        else:
            rows, in_scope = self._rows(filters)
        self._ready = None
        self.param.update(filtered=rows, total=in_scope)

    async def type_search(self, text: str) -> None:
        """The search box's text as the person types: the list follows the newest text. Keys
        that arrive while a filter runs are not queued one by one: the next run takes the
        newest text, so a fast typist's list settles right after the last key."""
        self._typed = text
        if self._searching:
            return
        self._searching = True
        try:
            while True:
                wanted = self._typed
                filters = self._filters(search=wanted)
                result = await asyncio.to_thread(self._rows, filters)
                if self._typed == wanted:
                    break
            self._ready = (filters, result)
            if self.search == wanted:
                self._filter()
            else:
                self.search = wanted
        finally:
            self._searching = False

    def set_column_filters(self, filters: list[dict]) -> None:
        """The table's header filters (Tabulator's list of {field, value}) as column_filters."""
        self.column_filters = {f["field"]: f.get("value") for f in filters or []
                               if f.get("field") and str(f.get("value") or "").strip()}

    def row(self, iloc: int) -> dict:
        """The filtered row at position `iloc` (what a row action was clicked on)."""
        return self.filtered.iloc[iloc].to_dict()

    def export_csv(self) -> str:
        """The filtered rows as CSV; cells that could start a spreadsheet formula are neutralised."""
        return to_csv(self.filtered.drop(columns=["tenant_id", "licenses_shown", "licensed",
                                                  "shared_to_tidy"])
                      .rename(columns={"id": "object_id"}))

    def export_filename(self) -> str:
        label = next((k for k, v in self.param.tenant.objects.items() if v == self.tenant), "all")
        slug = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-") or "all"
        return f"users-{slug}.csv"
