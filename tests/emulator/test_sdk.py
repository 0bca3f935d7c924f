"""Microsoft's own Graph SDK (msgraph-sdk) against the emulator: its models must parse our JSON.

The SDK is pointed at the emulator by its request adapter's base_url and an httpx client that
trusts the emulator's CA; a TokenCredential hands it `emu.token(tenant)`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import time
import uuid
import warnings

import httpx
import pytest
from azure.core.credentials import AccessToken

with warnings.catch_warnings():
    # The SDK's generated classes warn about their own deprecations when imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    msgraph = pytest.importorskip("msgraph")

    from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
        AzureIdentityAuthenticationProvider)
    from kiota_abstractions.base_request_configuration import RequestConfiguration  # noqa: E402
    from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
    from msgraph.generated.models.assigned_license import AssignedLicense  # noqa: E402
    from msgraph.generated.models.password_profile import PasswordProfile  # noqa: E402
    from msgraph.generated.models.reference_create import ReferenceCreate  # noqa: E402
    from msgraph.generated.models.user import User  # noqa: E402
    from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (  # noqa: E402
        AssignLicensePostRequestBody)
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder  # noqa: E402
    from msgraph_core import GraphClientFactory  # noqa: E402

SCOPES = ["https://graph.microsoft.com/.default"]
# The SDK's generated request builders warn about their own deprecated classes on use.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class EmulatorCredential:
    """A azure.core TokenCredential that asks the emulator for a tenant's token."""

    def __init__(self, emu, tenant_id):
        self.emu, self.tenant_id = emu, tenant_id

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.emu.token(self.tenant_id), int(time.time()) + 3000)


def sdk_client(emu, tenant_id) -> tuple[GraphServiceClient, httpx.AsyncClient]:
    auth = AzureIdentityAuthenticationProvider(EmulatorCredential(emu, tenant_id), scopes=SCOPES,
                                               allowed_hosts=["127.0.0.1"])
    # A generous timeout: on a loaded 2-core CI machine httpx's 5 s default is not enough.
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(emu.ca_file)), timeout=60)
    adapter = GraphRequestAdapter(auth, client=GraphClientFactory.create_with_default_middleware(client=http))
    adapter.base_url = emu.graph_url
    return GraphServiceClient(request_adapter=adapter), http


async def scenario(emu, tenant_id) -> dict:
    client, http = sdk_client(emu, tenant_id)
    try:
        config = RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            top=7, select=["id", "displayName", "userPrincipalName", "assignedLicenses"]))
        page = await client.users.get(request_configuration=config)
        users = list(page.value)
        pages = 1
        while page.odata_next_link:
            page = await client.users.with_url(page.odata_next_link).get()
            users.extend(page.value)
            pages += 1
        skus = (await client.subscribed_skus.get()).value
        domains = (await client.domains.get()).value
        domain = next(d.id for d in domains if d.is_default)
        nick = f"sdk.{uuid.uuid4().hex[:8]}"
        created = await client.users.post(User(
            account_enabled=True, display_name="SDK Created", mail_nickname=nick,
            user_principal_name=f"{nick}@{domain}", usage_location="NL",
            password_profile=PasswordProfile(password="Sdk!Passw0rd#1",
                                             force_change_password_next_sign_in=True)))
        flow = next(s for s in skus if s.sku_part_number == "FLOW_FREE")
        await client.users.by_user_id(created.id).assign_license.post(AssignLicensePostRequestBody(
            add_licenses=[AssignedLicense(sku_id=flow.sku_id, disabled_plans=[])], remove_licenses=[]))
        groups = (await client.groups.get()).value
        group = next(g for g in groups if g.display_name == "SG-VPN Users")
        await client.groups.by_group_id(group.id).members.ref.post(ReferenceCreate(
            odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{created.id}"))
        from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
        back = await client.users.by_user_id(created.id).get(
            request_configuration=RequestConfiguration(
                query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=["id", "userPrincipalName", "assignedLicenses", "usageLocation"])))
        member_of = (await client.users.by_user_id(created.id).member_of.get()).value
        members = (await client.groups.by_group_id(group.id).members.get()).value
        skus_after = (await client.subscribed_skus.get()).value
        return {"users": users, "pages": pages, "skus": skus, "skus_after": skus_after,
                "created": created, "back": back, "flow": flow, "group": group,
                "member_of": member_of, "members": members}
    finally:
        await http.aclose()


@pytest.mark.slow            # the whole SDK scenario takes several seconds
def test_msgraph_sdk_round_trip(emu, tid):
    # Its own thread and event loop: Playwright's sync API (the browser tests) may have left a
    # running loop in this thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(lambda: asyncio.run(scenario(emu, tid))).result()
    users = result["users"]
    assert len(users) == 40 and result["pages"] == 6
    assert all(u.id and u.user_principal_name and u.assigned_licenses is not None for u in users)
    skus = result["skus"]
    assert skus and all(s.sku_id and s.prepaid_units.enabled is not None for s in skus)
    created, back, flow = result["created"], result["back"], result["flow"]
    assert created.id and created.display_name == "SDK Created"
    assert back.usage_location == "NL"
    assert [a.sku_id for a in back.assigned_licenses] == [flow.sku_id]
    after = next(s for s in result["skus_after"] if s.sku_id == flow.sku_id)
    assert after.consumed_units == flow.consumed_units + 1
    assert result["group"].id in {o.id for o in result["member_of"]}
    assert created.id in {m.id for m in result["members"]}
    assert all(type(m).__name__ == "User" for m in result["members"])
