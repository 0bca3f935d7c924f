"""Licenses: seats consumed against purchased per SKU and per tenant, SKUs out of seats, and the
users behind a chosen SKU."""
from __future__ import annotations

import numpy as np
import pandas as pd
import param

from services.licensing import THOUSAND_SEATS, over_allocated_frame, sold_by_the_thousand

from .base import PageViewModel
from .user_details import license_source
from .users import ALL, tenant_choices

SKU_COLUMNS = ["tenant_name", "product_name", "sku_part_number", "capability_status", "enabled",
               "consumed", "available", "utilization", "out_of_seats", "over_allocated",
               "tenant_id", "sku_id"]
CHART_COLUMNS = ["product_name", "enabled", "consumed", "available", "out_of_seats",
                 "over_allocated"]
TENANT_COLUMNS = ["tenant_name", "enabled", "consumed", "utilization", "skus_out_of_seats"]
SKU_USER_COLUMNS = ["tenant_name", "user_principal_name", "product_name", "source"]


# SKUs sold by the thousand (free and viral ones: Power Automate Free, Teams Exploratory) would
# flatten every paid SKU's bar; the charts leave them out and the table still lists them. The
# threshold and the out-of-seats rule live in services.licensing; licenses() carries the
# out_of_seats column this page reads.
CHART_SEAT_LIMIT = THOUSAND_SEATS


class LicensesViewModel(PageViewModel):
    """State of the Licenses page."""

    tenant = param.Selector(default=ALL, objects={"All tenants": ALL}, check_on_set=False,
                            doc="Tenant id to report on; '' sums every tenant.")
    skus = param.DataFrame(default=pd.DataFrame(columns=SKU_COLUMNS), doc="One row per tenant "
                           "and subscribed SKU, with out_of_seats.")
    per_sku = param.DataFrame(default=pd.DataFrame(columns=CHART_COLUMNS), doc="Seats per SKU "
                              "(summed over the tenants in scope), for the consumed/purchased chart.")
    per_tenant = param.DataFrame(default=pd.DataFrame(columns=TENANT_COLUMNS), doc="Seats and "
                                 "utilization per tenant, for the utilization chart.")
    selected_sku = param.String(default="", doc="'tenant_id/sku_id' of the SKU whose users are listed.")
    sku_users = param.DataFrame(default=pd.DataFrame(columns=SKU_USER_COLUMNS), doc="Users "
                                "holding the selected SKU, with the license's source.")

    def refresh(self) -> None:
        self.param.tenant.objects = tenant_choices(self.m365.tenants())
        self._all = self.m365.licenses()
        self._compute()

    @param.depends("tenant", watch=True)
    def _compute(self) -> None:
        df = getattr(self, "_all", None)
        if df is None:
            return
        if self.tenant:
            df = df[df["tenant_id"] == self.tenant]
        # In tenant order, then by license, as the admin center and All Tenants list them.
        df = df.assign(over_allocated=over_allocated_frame(df)).sort_values(
            ["tenant_name", "product_name"], key=lambda c: c.astype(str).str.lower(), kind="stable")
        self.skus = df[SKU_COLUMNS].astype({"tenant_id": str, "sku_id": str}).reset_index(drop=True)
        paid = df[~sold_by_the_thousand(df["enabled"])]
        per = (paid.groupby("product_name", observed=True)[["enabled", "consumed", "available"]].sum()
               .reset_index())
        per["out_of_seats"] = per["product_name"].map(
            paid.groupby("product_name", observed=True)["out_of_seats"].any()).astype(bool)
        per["over_allocated"] = per["product_name"].map(
            paid.groupby("product_name", observed=True)["over_allocated"].any()).astype(bool)
        self.per_sku = per[CHART_COLUMNS].sort_values("product_name", ignore_index=True)
        ten = (paid.groupby("tenant_name", observed=True)
               .agg(enabled=("enabled", "sum"), consumed=("consumed", "sum"),
                    skus_out_of_seats=("out_of_seats", "sum")).reset_index())
        ten = ten[ten["enabled"] > 0]
        ten["utilization"] = np.where(ten["enabled"] > 0,
                                      ten["consumed"] / ten["enabled"].where(ten["enabled"] > 0), np.nan)
        self.per_tenant = ten[TENANT_COLUMNS].sort_values("tenant_name", ignore_index=True)
        if self.selected_sku and not self._selected_in(self.skus):
            self.selected_sku = ""
        self._load_users()

    def _selected_in(self, skus: pd.DataFrame) -> bool:
        keys = skus["tenant_id"] + "/" + skus["sku_id"]
        return bool((keys == self.selected_sku).any())

    def select(self, iloc: int) -> None:
        """Choose the SKU at row `iloc` of `skus` to list its users."""
        row = self.skus.iloc[iloc]
        self.selected_sku = f"{row['tenant_id']}/{row['sku_id']}"

    @param.depends("selected_sku", watch=True)
    def _load_users(self) -> None:
        if not self.selected_sku:
            self.sku_users = pd.DataFrame(columns=SKU_USER_COLUMNS)
            return
        tenant_id, sku_id = self.selected_sku.split("/", 1)
        held = self.m365.user_licenses(tenant_id)
        held = held[held["sku_id"] == sku_id].copy()
        held["source"] = [license_source(r) for r in held.to_dict("records")]
        self.sku_users = held[SKU_USER_COLUMNS].astype(object).reset_index(drop=True)

    def seats_of(self, tenant_id: str, sku_part_number: str) -> dict:
        """Purchased, consumed and available seats of one SKU (for tests and the wizard)."""
        df = self._all
        row = df[(df["tenant_id"] == tenant_id) & (df["sku_part_number"] == sku_part_number)]
        if row.empty:
            raise KeyError(f"tenant {tenant_id} has no SKU {sku_part_number}")
        r = row.iloc[0]
        return {"enabled": int(r["enabled"]), "consumed": int(r["consumed"]),
                "available": int(r["available"])}
