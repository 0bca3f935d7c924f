"""The create-user step when Graph's answer to its POST is lost (AmbiguousWrite)."""
import pytest

from services.errors import AmbiguousWrite, NotFound, Transient
from services.replication import FreshUsers
from services.workflows.plan import DONE, ApplyContext
from services.workflows.steps import create_user

UPN = "new.user@contoso.example"


class FakeClient:
    """Answers GET users/<upn> from `exists`; each POST runs the next of `posts`."""

    base = "https://graph.example.test/v1.0"

    def __init__(self, posts):
        self.posts = list(posts)
        self.sent = 0
        self.exists = False
        self.fresh = FreshUsers()      # the real client's "just created" marker

    def get(self, path, params=None):
        if self.exists:
            return {"id": "u-new"}
        raise NotFound("no such user", status=404, code="Request_ResourceNotFound")

    def request(self, method, path, json=None, retry_unsafe=True):
        assert (method, path, retry_unsafe) == ("POST", "users", False)
        self.sent += 1
        return self.posts.pop(0)(self)


def created_then_lost(client):
    client.exists = True
    raise AmbiguousWrite("connection lost", code="connectionLost", method="POST")


def lost_unapplied(client):
    raise AmbiguousWrite("connection lost", code="connectionLost", method="POST")


def created(client):
    client.exists = True
    return {"id": "u-2"}


def _run(client):
    ctx = ApplyContext(client=client, plan=None)
    outcome = create_user(UPN, {"userPrincipalName": UPN}, "Typed-Passw0rd!", True).run(ctx)
    return ctx, outcome


def test_lost_answer_of_an_applied_create_adopts_the_user_without_sending_again():
    client = FakeClient([created_then_lost])
    ctx, outcome = _run(client)
    assert outcome.status == DONE and ctx.user_id == "u-new"
    assert client.sent == 1


def test_lost_answer_of_an_unapplied_create_is_sent_once_more():
    client = FakeClient([lost_unapplied, created])
    ctx, outcome = _run(client)
    assert outcome.status == DONE and ctx.user_id == "u-2"
    assert client.sent == 2


def test_second_lost_answer_without_the_user_raises_ambiguous_write():
    client = FakeClient([lost_unapplied, lost_unapplied])
    with pytest.raises(AmbiguousWrite):
        _run(client)
    assert client.sent == 2


def test_other_transient_failure_is_not_taken_for_a_lost_answer():
    def busy(client):
        raise Transient("busy", status=503, code="ServiceUnavailable")
    client = FakeClient([busy])
    with pytest.raises(Transient) as info:
        _run(client)
    assert not isinstance(info.value, AmbiguousWrite)
    assert client.sent == 1
