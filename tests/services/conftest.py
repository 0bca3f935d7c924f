import json
import re

import pytest
import responses

from services.config import GraphSettings, Secret
from services.graph import Graph

AUTHORITY = "https://login.example.test"
GRAPH = "https://graph.example.test/v1.0"
SECRET = "s3cr3t-client-value-do-not-log"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def identity(mocked):
    """Mocks OIDC discovery and the v2.0 token endpoint for any tenant; counts tokens issued."""
    issued = []

    def discovery(request):
        tenant = request.url.split("/")[3]
        return 200, {}, json.dumps({
            "authorization_endpoint": f"{AUTHORITY}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AUTHORITY}/{tenant}/oauth2/v2.0/token",
            "issuer": f"{AUTHORITY}/{tenant}/v2.0",
        })

    def token(request):
        tenant = request.url.split("/")[3]
        if tenant == "wrong-secret":
            return 401, {}, json.dumps({
                "error": "invalid_client", "error_codes": [7000215],
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                                     "secret being sent in the request is the client secret value."})
        value = f"tok-{tenant}-{len(issued) + 1}"
        issued.append((tenant, value))
        return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3599,
                                    "ext_expires_in": 3599, "access_token": value})

    mocked.add_callback(responses.GET, re.compile(rf"{AUTHORITY}/[^/]+/v2.0/.well-known/openid-configuration"),
                        callback=discovery)
    mocked.add_callback(responses.POST, re.compile(rf"{AUTHORITY}/[^/]+/oauth2/v2.0/token"), callback=token)
    return issued


@pytest.fixture
def make_graph(identity):
    """Factory: a Graph hub against the mocked endpoints that records its sleeps."""
    def factory(**overrides):
        settings = GraphSettings(client_id="app-id", client_secret=Secret(SECRET),
                                 authority_host=AUTHORITY, graph_url=GRAPH,
                                 **overrides)
        sleeps = []
        graph = Graph(settings, sleep=sleeps.append)
        graph.sleeps = sleeps
        return graph
    return factory


def graph_error(code, message, request_id="req-1", details=None):
    err = {"code": code, "message": message,
           "innerError": {"request-id": request_id, "date": "2026-11-26T10:00:00"}}
    if details:
        err["details"] = details
    return {"error": err}
