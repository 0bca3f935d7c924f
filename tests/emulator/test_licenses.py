"""Licenses: subscribedSkus, exact consumedUnits, assignLicense rules and errors,
group-based licensing (assignedByGroup, not removable, CountViolation)."""
from __future__ import annotations

import csv
from pathlib import Path

from .conftest import graph_error, new_user

DATA = Path(__file__).resolve().parents[2] / "emulator" / "data" / "skus.csv"


def skus(api) -> dict[str, dict]:
    return {s["skuPartNumber"]: s for s in api.ok("GET", "subscribedSkus")["value"]}


def left(sku: dict) -> int:
    return sku["prepaidUnits"]["enabled"] - sku["consumedUnits"]


def test_sku_data_file_is_attributed_and_clean():
    lines = DATA.read_text(encoding="utf-8").splitlines()
    assert "Product names and service plan identifiers for licensing" in lines[0]
    assert "Microsoft" in lines[1]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert {r["sku_part_number"] for r in rows} >= {"SPB", "O365_BUSINESS_PREMIUM", "ENTERPRISEPACK",
                                                   "SPE_E3", "EXCHANGESTANDARD", "POWER_BI_PRO",
                                                   "FLOW_FREE", "TEAMS_EXPLORATORY"}
    names = {r["sku_part_number"]: r["product_name"] for r in rows}
    assert names["O365_BUSINESS_PREMIUM"] == "Microsoft 365 Business Standard"
    assert names["SPB"] == "Microsoft 365 Business Premium"
    assert all(v == v.strip() for r in rows for v in r.values())


def test_subscribed_skus_shape_and_exact_consumption(emu):
    from .conftest import Api
    statuses, short, full = set(), 0, 0
    for tid in emu.tenant_ids:
        api = Api(emu, tid)
        answer = api.ok("GET", "subscribedSkus")["value"]
        users = api.all("users", params={"$select": "id,assignedLicenses", "$top": "999"})
        for sku in answer:
            assert set(sku) >= {"skuId", "skuPartNumber", "appliesTo", "capabilityStatus",
                                "consumedUnits", "prepaidUnits", "servicePlans", "subscriptionIds"}
            assert set(sku["prepaidUnits"]) == {"enabled", "suspended", "warning", "lockedOut"}
            held = sum(1 for u in users if any(a["skuId"] == sku["skuId"] for a in u["assignedLicenses"]))
            assert sku["consumedUnits"] == held, sku["skuPartNumber"]
            statuses.add(sku["capabilityStatus"])
            short += left(sku) < 0
            full += left(sku) == 0 and sku["consumedUnits"] > 0
    assert {"Enabled", "Warning", "Suspended"} <= statuses
    assert short >= 1 and full >= 1
    picked = Api(emu, emu.tenant_ids[0]).ok("GET", "subscribedSkus", params={"$select": "skuId,consumedUnits"})
    assert set(picked["value"][0]) == {"skuId", "consumedUnits"}


def test_assign_and_remove_a_license(api):
    user = new_user(api)
    flow = skus(api)["FLOW_FREE"]
    answer = api.ok("POST", f"users/{user['id']}/assignLicense",
                    json={"addLicenses": [{"skuId": flow["skuId"], "disabledPlans": []}], "removeLicenses": []})
    assert answer["id"] == user["id"]
    assert skus(api)["FLOW_FREE"]["consumedUnits"] == flow["consumedUnits"] + 1
    got = api.ok("GET", f"users/{user['id']}", params={"$select": "assignedLicenses,licenseAssignmentStates"})
    assert got["assignedLicenses"] == [{"disabledPlans": [], "skuId": flow["skuId"]}]
    assert got["licenseAssignmentStates"][0]["assignedByGroup"] is None
    assert got["licenseAssignmentStates"][0]["state"] == "Active"
    plan = flow["servicePlans"][0]["servicePlanId"]
    api.ok("POST", f"users/{user['id']}/assignLicense",
           json={"addLicenses": [{"skuId": flow["skuId"], "disabledPlans": [plan]}], "removeLicenses": []})
    details = api.ok("GET", f"users/{user['id']}/licenseDetails")["value"][0]
    assert any(p["servicePlanId"] == plan and p["provisioningStatus"] == "Disabled" for p in details["servicePlans"])
    assert skus(api)["FLOW_FREE"]["consumedUnits"] == flow["consumedUnits"] + 1
    api.ok("POST", f"users/{user['id']}/assignLicense", json={"addLicenses": [], "removeLicenses": [flow["skuId"]]})
    assert skus(api)["FLOW_FREE"]["consumedUnits"] == flow["consumedUnits"]
    err = graph_error(api.post(f"users/{user['id']}/assignLicense",
                               json={"addLicenses": [], "removeLicenses": [flow["skuId"]]}), 400)
    assert "does not have a corresponding license" in err["message"]


def test_assign_license_errors(api):
    user = new_user(api)
    flow = skus(api)["FLOW_FREE"]["skuId"]
    err = graph_error(api.post(f"users/{user['id']}/assignLicense",
                               json={"addLicenses": [{"skuId": flow, "disabledPlans": []}]}), 400)
    assert err["message"] == ("One or more parameters of the operation 'assignLicense' are missing from "
                              "the request payload. The missing parameters are: removeLicenses.")
    err = graph_error(api.post(f"users/{user['id']}/assignLicense", json={"removeLicenses": []}), 400)
    assert err["message"].endswith("The missing parameters are: addLicenses.")
    graph_error(api.post(f"users/{user['id']}/assignLicense",
                         json={"addLicenses": [{"skuId": "11111111-1111-1111-1111-111111111111"}],
                               "removeLicenses": []}), 400)
    nowhere = new_user(api)
    assert api.patch(f"users/{nowhere['id']}", json={"usageLocation": None}).status_code == 204
    err = graph_error(api.post(f"users/{nowhere['id']}/assignLicense",
                               json={"addLicenses": [{"skuId": flow, "disabledPlans": []}],
                                     "removeLicenses": []}), 400, "Request_BadRequest")
    assert err["message"] == "License assignment cannot be done for user with invalid usage location."
    full = next(s for s in skus(api).values() if left(s) <= 0 and s["capabilityStatus"] == "Enabled")
    err = graph_error(api.post(f"users/{user['id']}/assignLicense",
                               json={"addLicenses": [{"skuId": full["skuId"], "disabledPlans": []}],
                                     "removeLicenses": []}), 400, "Request_BadRequest")
    assert err["message"] == f"Subscription with SKU {full['skuId']} does not have any available licenses."
    suspended = next(s for s in skus(api).values() if s["capabilityStatus"] == "Suspended")
    graph_error(api.post(f"users/{user['id']}/assignLicense",
                         json={"addLicenses": [{"skuId": suspended["skuId"], "disabledPlans": []}],
                               "removeLicenses": []}), 400)
    graph_error(api.post("users/00000000-0000-0000-0000-000000000009/assignLicense",
                         json={"addLicenses": [], "removeLicenses": []}), 404)


def _licensed_group(api) -> dict:
    groups = api.ok("GET", "groups", params={"$select": "id,displayName,assignedLicenses"})["value"]
    return next(g for g in groups if g["assignedLicenses"])


def test_group_based_license_is_inherited_and_not_removable(api):
    group = _licensed_group(api)
    sku_id = group["assignedLicenses"][0]["skuId"]
    members = api.all(f"groups/{group['id']}/members", params={"$select": "id,assignedLicenses,licenseAssignmentStates"})
    member = next(m for m in members if m["licenseAssignmentStates"])
    state = next(s for s in member["licenseAssignmentStates"] if s["skuId"] == sku_id)
    assert state["assignedByGroup"] == group["id"] and state["state"] == "Active"
    assert any(a["skuId"] == sku_id for a in member["assignedLicenses"])
    err = graph_error(api.post(f"users/{member['id']}/assignLicense",
                               json={"addLicenses": [], "removeLicenses": [sku_id]}), 400)
    assert err["message"] == ("User license is inherited from group membership and cannot be removed "
                              "directly from the user.")


def test_joining_and_leaving_a_licensed_group(api):
    group = _licensed_group(api)
    sku_id = group["assignedLicenses"][0]["skuId"]
    before = next(s for s in skus(api).values() if s["skuId"] == sku_id)
    assert left(before) == 0                         # the demo SKU behind the group is fully used
    user = new_user(api)
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user['id']}"}
    assert api.post(f"groups/{group['id']}/members/$ref", json=ref).status_code == 204
    got = api.ok("GET", f"users/{user['id']}", params={"$select": "assignedLicenses,licenseAssignmentStates"})
    assert got["assignedLicenses"] == []
    assert got["licenseAssignmentStates"] == [{**got["licenseAssignmentStates"][0], "assignedByGroup": group["id"],
                                               "state": "Error", "error": "CountViolation", "skuId": sku_id}]
    # One seat freed: the next member gets the license from the group.
    holder = next(m for m in api.all(f"groups/{group['id']}/members", params={"$select": "id,assignedLicenses"})
                  if m["assignedLicenses"])
    assert api.delete(f"groups/{group['id']}/members/{holder['id']}/$ref").status_code == 204
    after_leave = api.ok("GET", f"users/{holder['id']}", params={"$select": "assignedLicenses"})
    assert all(a["skuId"] != sku_id for a in after_leave["assignedLicenses"])
    second = new_user(api)
    api.post(f"groups/{group['id']}/members/$ref",
             json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{second['id']}"})
    got = api.ok("GET", f"users/{second['id']}", params={"$select": "assignedLicenses,licenseAssignmentStates"})
    assert got["assignedLicenses"][0]["skuId"] == sku_id
    assert got["licenseAssignmentStates"][0]["state"] == "Active"
    assert next(s for s in skus(api).values() if s["skuId"] == sku_id)["consumedUnits"] == before["consumedUnits"]
