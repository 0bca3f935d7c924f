"""Exchange Online through the one choke point: its token audience, headers, paging by POST,
warnings, error body and retries, over `responses` (docs/EXCHANGE.md)."""
import json
from urllib.parse import parse_qs

import pytest
import responses

from services.errors import NotFound, PermissionDeniedByGraph
from services.exchange import (ExchangeOnline, SHARED_MAILBOX_LIMIT, from_exchange_body,
                               size_bytes)
from services.graph import Graph

from .conftest import SECRET

EXO = "https://outlook.example.test/adminapi/beta"
TID = "7f1c6a0e-0000-4000-8000-000000000001"
URL = f"{EXO}/{TID}/InvokeCommand"


def _exo_error(exception: str, message: str, status=400):
    return {"error": {"code": "BadRequest", "message": "Error executing cmdlet",
                      "details": [{"code": "Context", "target": "",
                                   "message": f"Ex6F9304|Microsoft.Exchange.Configuration.Tasks."
                                              f"{exception}|{message}"}],
                      "innererror": {"message": message, "type": "x",
                                     "internalException": {"message": message,
                                                           "type": f"Microsoft.Exchange.{exception}"}}}}


@pytest.fixture
def exchange(make_graph):
    graph: Graph = make_graph(exchange_url=EXO)
    return ExchangeOnline(graph.tenant(TID))


def _exo_calls(mocked):
    return [c for c in mocked.calls if c.request.url.startswith(EXO)]


def _token_bodies(mocked):
    return [parse_qs(c.request.body) for c in mocked.calls
            if c.request.url.endswith("/oauth2/v2.0/token")]


def test_exchange_cmdlet_uses_exchange_token_and_anchor_headers(mocked, exchange):
    mocked.post(URL, json={"value": [{"RecipientTypeDetails": "UserMailbox"}]})
    assert exchange.mailbox("ann@contoso.test") == {"RecipientTypeDetails": "UserMailbox"}
    [call] = _exo_calls(mocked)
    headers = call.request.headers
    assert headers["X-AnchorMailbox"] == (
        "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@" + TID)
    assert headers["Prefer"] == "odata.maxpagesize=1000"
    assert json.loads(call.request.body) == {"CmdletInput": {
        "CmdletName": "Get-Mailbox", "Parameters": {"Identity": "ann@contoso.test"}}}
    [token] = _token_bodies(mocked)
    assert token["scope"] == ["https://outlook.office365.com/.default"]
    assert SECRET not in headers["Authorization"]


def test_exchange_pages_are_asked_for_by_posting_the_same_body_to_the_next_link(mocked, exchange):
    nxt = f"{URL}?$skiptoken=2&$select=UserPrincipalName"
    mocked.post(URL, json={"value": [{"UserPrincipalName": "a"}], "@odata.nextLink": nxt})
    mocked.post(nxt, json={"value": [{"UserPrincipalName": "b"}]})
    found = exchange.mailboxes(select="UserPrincipalName")
    assert [m["UserPrincipalName"] for m in found] == ["a", "b"]
    first, second = _exo_calls(mocked)
    assert "%24select=UserPrincipalName" in first.request.url or "$select=" in first.request.url
    assert first.request.body == second.request.body
    assert second.request.method == "POST"


def test_exchange_warnings_are_kept(mocked, exchange):
    mocked.post(URL, json={"value": [], "@adminapi.warnings": [
        "The command completed successfully but no settings of 'ann' have been modified."]})
    answer = exchange.invoke("Set-Mailbox", {"Identity": "ann", "Type": "Shared"})
    assert answer.value == [] and "no settings" in answer.warnings[0]


def test_exchange_error_message_and_exception_come_from_details(mocked, exchange):
    mocked.post(URL, status=400, json=_exo_error(
        "ManagementObjectNotFoundException",
        "The operation couldn't be performed because object 'zed' couldn't be found on 'X'."))
    assert exchange.mailbox("zed") is None          # not found: no mailbox
    with pytest.raises(NotFound) as caught:
        exchange.get("Get-MailboxStatistics", {"Identity": "zed"})
    assert caught.value.code == "ManagementObjectNotFoundException"
    assert caught.value.graph_message.startswith("The operation couldn't be performed")


def test_exchange_error_falls_back_to_inner_then_top_message():
    inner = {"error": {"code": "Forbidden", "message": "top",
                       "innererror": {"internalException": {"message": "inner text",
                                                            "type": "A.B.SomeException"}}}}
    err = from_exchange_body(403, inner)
    assert isinstance(err, PermissionDeniedByGraph)
    assert (err.graph_message, err.code) == ("inner text", "SomeException")
    assert from_exchange_body(500, {"error": {"code": "X", "message": "top"}}).graph_message == "top"


def test_exchange_throttling_is_retried_after_retry_after(mocked, make_graph):
    graph = make_graph(exchange_url=EXO)
    mocked.post(URL, status=429, headers={"Retry-After": "2"}, json=_exo_error(
        "ThrottlingException", "Too many requests"))
    mocked.post(URL, json={"value": [{"TotalItemSize": "51.3 GB (55,083,295,744 bytes)"}]})
    size = ExchangeOnline(graph.tenant(TID)).mailbox_size("ann")
    assert size == 55_083_295_744 > SHARED_MAILBOX_LIMIT
    assert graph.sleeps == [2.0]
    assert graph.stats.throttled[TID] == 1


def test_exchange_expired_token_is_renewed_once(mocked, make_graph):
    graph = make_graph(exchange_url=EXO)
    mocked.post(URL, status=401, json={"error": {"code": "InvalidAuthenticationToken",
                                                 "message": "expired"}})
    mocked.post(URL, json={"value": []})
    ExchangeOnline(graph.tenant(TID)).invoke("Get-Mailbox")
    assert len(_token_bodies(mocked)) == 2


def test_exchange_member_already_in_or_not_in_is_nothing_to_do(mocked, exchange):
    mocked.post(URL, status=400, json=_exo_error("MemberAlreadyExistsException",
                                                 "The recipient ann is already a member"))
    assert exchange.add_member("sales", "ann") is False
    mocked.replace(responses.POST, URL, status=400, json=_exo_error(
        "MemberNotFoundException", "The recipient ann isn't a member"))
    assert exchange.remove_member("sales", "ann") is False
    mocked.replace(responses.POST, URL, json={"value": []})
    assert exchange.add_member("sales", "ann") is True


def test_exchange_full_access_lists_explicit_grants_only(mocked, exchange):
    mocked.post(URL, json={"value": [
        {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess"], "IsInherited": False},
        {"User": "boss@contoso.test", "AccessRights": ["FullAccess"], "IsInherited": False},
        {"User": "admin@contoso.test", "AccessRights": ["FullAccess"], "IsInherited": True},
        {"User": "ro@contoso.test", "AccessRights": ["ReadPermission"], "IsInherited": False}]})
    assert [p["User"] for p in exchange.full_access("ann")] == ["boss@contoso.test"]


def test_exchange_size_text_is_read_in_bytes():
    assert size_bytes("1.2 GB (1,288,490,189 bytes)") == 1_288_490_189
    assert size_bytes("0 B (0 bytes)") == 0
    assert size_bytes("Unlimited") is None
