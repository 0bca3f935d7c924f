"""What the wizard offers on its Roles & Licenses and Groups tabs, and why an option is locked.

A SKU with no seats left (or a suspended one) cannot be picked; a license the user gets from a
group cannot be removed here. Groups Graph cannot change (distribution lists, mail-enabled
security groups, dynamic groups) are listed but cannot be picked, with the reason.
"""
from __future__ import annotations

import pandas as pd

from services.licensing import assign_refusal

LICENSE_OPTION_COLUMNS = ["product_name", "sku_part_number", "used", "purchased", "left",
                          "selectable", "note", "sku_id"]
ROLE_OPTION_COLUMNS = ["display_name", "description", "role_definition_id"]
GROUP_OPTION_COLUMNS = ["display_name", "kind", "is_team", "apps", "selectable", "note", "id"]

KIND_REASONS = {
    "distribution": "distribution list: Graph cannot change its members (use Exchange admin)",
    "mail_security": "mail-enabled security group: Graph cannot change its members (use Exchange admin)",
}


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


def group_reason(row: dict) -> str:
    """Why Graph cannot change the group's members, or '' when it can."""
    if bool(row.get("writable", True)) and not bool(row.get("is_dynamic")):
        return ""
    if bool(row.get("is_dynamic")):
        return "dynamic group: members come from its rule"
    return str(row.get("read_only_reason") or KIND_REASONS.get(str(row.get("kind")), "Graph cannot "
                                                                 "change its members"))


def group_options(groups: pd.DataFrame, member_of: set[str]) -> pd.DataFrame:
    rows = []
    for r in groups.to_dict("records"):
        why = group_reason(r)
        member = r["id"] in member_of
        note = f"member; {why}" if why and member else (why or ("member" if member else ""))
        rows.append({"display_name": str(r["display_name"]), "kind": str(r["kind"]),
                     "is_team": bool(r.get("is_team")), "apps": str(r.get("apps") or ""),
                     "selectable": not why, "note": note, "id": str(r["id"])})
    df = pd.DataFrame(rows, columns=GROUP_OPTION_COLUMNS)
    return df.sort_values(["selectable", "display_name"], ascending=[False, True], ignore_index=True)
