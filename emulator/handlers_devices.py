"""/deviceManagement/managedDevices (Intune): the tenant's devices, one device, retire.

Devices are derived from their user (activity.py); only retirements are stored, in
`tenant.retired` (device id -> when). Retire removes company data and management, never wipes;
wipe is not emulated because the product never offers it.
"""
from __future__ import annotations

from . import activity
from .errors import GraphFault
from .handlers_users import DEVICE
from .model import now_iso
from .odata import parse_query
from .paging import list_dicts
from .router import Ctx, Reply, route

# Intune's answer for an unknown device id (observed shape; Intune errors carry a JSON string in
# the message, here shortened to its meaning).
MSG_NO_DEVICE = "No managed device with id '{id}' exists in this tenant."


def _retired(ctx: Ctx) -> dict:
    table = getattr(ctx.tenant, "retired", None)
    if table is None:
        table = ctx.tenant.retired = {}
    return table


def _all(ctx: Ctx) -> list[dict]:
    retired = getattr(ctx.tenant, "retired", None)
    rows = []
    for user in ctx.tenant.user_list:
        if user.deleted is None:
            rows.extend(activity.managed_devices(user, retired))
    return rows


def _device(ctx: Ctx, device_id: str) -> dict:
    key = device_id.lower()
    found = next((d for d in _all(ctx) if d["id"] == key), None)
    if found is None:
        raise GraphFault(404, "ResourceNotFound", MSG_NO_DEVICE.format(id=device_id))
    return found


@route("deviceManagement/managedDevices", "GET")
def list_devices(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, DEVICE, allow=("$select", "$top", "$skiptoken", "$filter"))
    return list_dicts(ctx, _all(ctx), q, ctx.context("deviceManagement/managedDevices"))


@route("deviceManagement/managedDevices/{did}", "GET")
def get_device(ctx: Ctx, did: str) -> Reply:
    device = _device(ctx, did)
    return Reply(200, {"@odata.context": ctx.context("deviceManagement/managedDevices/$entity"),
                       "@odata.type": "#microsoft.graph.managedDevice", **device})


@route("deviceManagement/managedDevices/{did}/retire", "POST")
def retire(ctx: Ctx, did: str) -> Reply:
    device = _device(ctx, did)
    # Retiring again while one is pending is accepted, as Intune does: the action is idempotent.
    _retired(ctx).setdefault(device["id"], now_iso())
    ctx.tenant.dirty = True
    ctx.wrote = True
    return Reply(204)
