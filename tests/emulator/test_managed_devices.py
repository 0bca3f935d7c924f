"""Intune managed devices: tenant listing with a UPN filter, one device, retire (204)."""
from __future__ import annotations

from .conftest import graph_error


def _user_with_device(api):
    for user in api.all("users", params={"$select": "id,userPrincipalName", "$top": "999"}):
        devices = api.ok("GET", f"users/{user['id']}/managedDevices")["value"]
        if devices:
            return user, devices
    raise AssertionError("no user with a device")


def test_managed_devices_filter_by_upn_matches_the_users_devices(api):
    user, devices = _user_with_device(api)
    listed = api.ok("GET", "deviceManagement/managedDevices",
                    params={"$filter": f"userPrincipalName eq '{user['userPrincipalName']}'"})["value"]
    assert {d["id"] for d in listed} == {d["id"] for d in devices}
    assert all(d["managementState"] == "managed" for d in listed)
    everything = api.all("deviceManagement/managedDevices")
    assert len(everything) > len(listed)


def test_managed_devices_retire_marks_the_device(api):
    user, devices = _user_with_device(api)
    device = devices[0]
    resp = api.post(f"deviceManagement/managedDevices/{device['id']}/retire")
    assert resp.status_code == 204 and not resp.content
    one = api.ok("GET", f"deviceManagement/managedDevices/{device['id']}")
    assert one["managementState"] == "retirePending"
    again = api.ok("GET", f"users/{user['id']}/managedDevices")["value"]
    assert {d["id"]: d["managementState"] for d in again}[device["id"]] == "retirePending"
    assert api.post(f"deviceManagement/managedDevices/{device['id']}/retire").status_code == 204


def test_managed_devices_unknown_device_is_404(api):
    graph_error(api.post("deviceManagement/managedDevices/00000000-0000-4000-8000-000000000000/retire"), 404)
