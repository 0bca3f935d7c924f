"""What the wizard offers on its Roles & Licenses and Groups tabs, and why an option is locked.

A SKU with no seats left (or a suspended one) cannot be picked; a license the user gets from a
group cannot be removed here. Distribution lists and mail-enabled security groups are changed
in Exchange Online: they can be picked when the tenant's access allows Exchange Online, and are
noted so. Groups that cannot be changed here (dynamic groups, groups synced from on-premises,
Exchange groups without Exchange access) are listed but cannot be picked, with the reason.
"""
from __future__ import annotations

import pandas as pd

from services.licensing import assign_refusal

LICENSE_OPTION_COLUMNS = ["product_name", "sku_part_number", "used", "purchased", "left",
                          "selectable", "note", "sku_id"]
ROLE_OPTION_COLUMNS = ["display_name", "description", "role_definition_id"]
GROUP_OPTION_COLUMNS = ["display_name", "kind", "is_team", "apps", "selectable", "note", "id"]

# Groups whose members Exchange Online changes (services.store.listings EXCHANGE_KINDS), as
# the picker names them.
EXCHANGE_KINDS = {"distribution": "distribution list", "mail_security": "mail-enabled security group"}
# Exchange's dynamic distribution groups (m365.dynamic_distribution_groups): listed, never picked.
DYNAMIC_LIST = "dynamic_distribution"


def license_options(skus: pd.DataFrame, held: dict[str, dict]) -> pd.DataFrame:
    """One row per SKU of the tenant; `held` maps part numbers the user has to user_licenses rows."""
    rows = []
    for r in skus.to_dict("records"):
        part = str(r["sku_part_number"])
        mine = held.get(part)
        used, bought = int(r["consumed"]), int(r["enabled"])
        left = int(r["available"])
        note, selectable = "", True
        if mine is not None and not bool(mine.get("assigned_directly")):
            selectable = False
            note = f"inherited from group {mine.get('assigned_by_group_name')}: change the group instead"
        elif mine is not None:
            note = "assigned"
        elif why := assign_refusal(r):        # the words a plan's problem uses for this SKU
            selectable, note = False, why
        rows.append({"product_name": str(r["product_name"]), "sku_part_number": part, "used": used,
                     "purchased": bought, "left": left, "selectable": selectable, "note": note,
                     "sku_id": str(r["sku_id"])})
    df = pd.DataFrame(rows, columns=LICENSE_OPTION_COLUMNS)
    return df.sort_values("product_name", ignore_index=True).astype(
        {"selectable": bool, "used": int, "purchased": int, "left": int})


def role_options(roles: pd.DataFrame) -> pd.DataFrame:
    df = roles.rename(columns={})[["display_name", "description", "role_definition_id"]].copy()
    df = df.astype(object).fillna("")
    return df.sort_values("display_name", ignore_index=True)[ROLE_OPTION_COLUMNS]


def _yes(value) -> bool:
    """True only for a true value: a missing one (None, pd.NA) is not."""
    return value is not None and value is not pd.NA and bool(value)


def group_reason(row: dict, exchange_off: str | None = None) -> str:
    """Why the group's members cannot be changed here, or '' when they can. `exchange_off`:
    why the tenant's access does not allow Exchange Online (m365.features_off), None when it
    does."""
    if str(row.get("kind")) == DYNAMIC_LIST:
        return str(row.get("read_only_reason") or "dynamic distribution group: members come "
                                                   "from its recipient filter")
    if _yes(row.get("is_dynamic")):
        return "dynamic group: members come from its rule"
    if _yes(row.get("on_premises_sync")):
        return "synced from on-premises Active Directory: change it there"
    word = EXCHANGE_KINDS.get(str(row.get("kind")))
    if word and exchange_off:
        if exchange_off.startswith("needs "):       # a permission or role the app lacks
            return f"{word}, changed in Exchange Online: the app {exchange_off} in this tenant"
        return f"{word}, changed in Exchange Online, which this tenant does not allow ({exchange_off})"
    if word:
        return ""
    writable = row.get("writable", True)
    if writable is None or writable is pd.NA or bool(writable):
        return ""
    return str(row.get("read_only_reason") or "Graph cannot change its members")


def group_note(row: dict) -> str:
    """What a technician should know about a group that can be picked ('' for most)."""
    word = EXCHANGE_KINDS.get(str(row.get("kind")))
    return f"{word}, changed in Exchange Online" if word else ""


def group_options(groups: pd.DataFrame, member_of: set[str], exchange_off: str | None = None,
                  dynamic_lists: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group of the tenant (and per dynamic distribution group, which Graph does not
    list), the pickable ones first; `exchange_off` as for group_reason."""
    rows = []
    records = groups.to_dict("records")
    if dynamic_lists is not None:
        records += dynamic_lists.to_dict("records")
    for r in records:
        why = group_reason(r, exchange_off)
        member = r["id"] in member_of
        parts = (["member"] if member else []) + [why or group_note(r)]
        rows.append({"display_name": str(r["display_name"]), "kind": str(r["kind"]),
                     "is_team": bool(r.get("is_team")), "apps": str(r.get("apps") or ""),
                     "selectable": not why, "note": "; ".join(p for p in parts if p),
                     "id": str(r["id"])})
    df = pd.DataFrame(rows, columns=GROUP_OPTION_COLUMNS)
    return df.sort_values(["selectable", "display_name"], ascending=[False, True], ignore_index=True)
