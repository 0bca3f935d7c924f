"""All Users: tenant picker, search, the filtered table and its row actions, CSV export.

The whole listing stays in this process: the table sends one page at a time to the browser
(remote pagination), and `filtered` is recomputed here, so 100,000 users never cross the wire.
"""
from __future__ import annotations

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
    filtered = param.DataFrame(default=pd.DataFrame(columns=TABLE_COLUMNS), doc="The rows the "
                               "table pages through: the listing after tenant, search and "
                               "license filters, in TABLE_COLUMNS.")
    total = param.Integer(default=0, doc="Users in the listing before filters.")

    def __init__(self, **params):
        super().__init__(**params)
        self._all = pd.DataFrame(columns=TABLE_COLUMNS)
        self._key = pd.Series(dtype=str)

    def refresh(self) -> None:
        """Bring the listing up to date with the store, keeping the filters (after a sync or a
        write, here or in another process sharing the store)."""
        self._use(user_listing(self.m365))

    def refresh_tenant(self, tenant_id: str) -> None:
        """Re-read one tenant's users after a write there, keeping every other row as it is."""
        self._use(user_listing(self.m365, stale_tenants=[tenant_id]))

    def _use(self, listing) -> None:
        self.param.tenant.objects = tenant_choices(listing.tenants)
        self._all, self._key = listing.frame, listing.key
        self.total = len(self._all)
        self._filter()

    @param.depends("tenant", "search", "licensed", watch=True)
    def _filter(self) -> None:
        mask = pd.Series(True, index=self._all.index)
        if self.tenant:
            mask &= (self._all["tenant_id"] == self.tenant).to_numpy()
        text = self.search.strip().lower()
        if text:
            mask &= self._key.str.contains(text, regex=False).to_numpy()
        if self.licensed != "any":
            has = self._all["licenses"].fillna("").astype(str).str.len() > 0
            mask &= has if self.licensed == "licensed" else ~has
        self.filtered = self._all[mask.to_numpy()]

    def row(self, iloc: int) -> dict:
        """The filtered row at position `iloc` (what a row action was clicked on)."""
        return self.filtered.iloc[iloc].to_dict()

    def export_csv(self) -> str:
        """The filtered rows as CSV; cells that could start a spreadsheet formula are neutralised."""
        return to_csv(self.filtered.drop(columns=["tenant_id"]).rename(columns={"id": "object_id"}))

    def export_filename(self) -> str:
        label = next((k for k, v in self.param.tenant.objects.items() if v == self.tenant), "all")
        slug = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-") or "all"
        return f"users-{slug}.csv"
