"""Bad input, property-based (hypothesis), end to end against the emulator.

Whole onboarding plans get generated user fields: unicode names, empty, too long, bad user
names, mail nicknames with spaces, bad usage locations, unknown licenses/groups/roles/fields...
Each bad input gives a problem naming its field, no exception escapes, and nothing is written:
the emulator answers no write and the tenant has the same users afterwards.
"""
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.workflows import PlanHasProblems
from services.workflows.onboarding import KNOWN_FIELDS
from services.workflows.validation import COUNTRY_CODES

from ..helpers import graph_all

from .conftest import write_count


SEED = 53          # the emulator's data (tests/reliability/conftest.py)
EXAMPLES = dict(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def tenant(m365, emu):
    tid = emu.tenant_ids[0]
    row = m365.tenants().set_index("tenant_id").loc[tid]
    groups = m365.groups(tid)
    return {"tid": tid, "domain": row["default_domain"],
            "group": groups[groups["writable"] == True]["display_name"].iloc[0]}  # noqa: E712


# Names people really have: letters of any script, with spaces, hyphens and apostrophes.
_letters = st.characters(whitelist_categories=("Lu", "Ll", "Lt", "Lo", "Lm"))
name = st.text(alphabet=st.one_of(_letters, st.sampled_from(" -'")), min_size=1, max_size=40) \
    .map(str.strip).filter(bool)
_local_ok = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=3, max_size=20)
_long = st.text(alphabet=st.one_of(_letters, st.characters(codec="utf-8")), min_size=1, max_size=20)
_not_phone = st.text(alphabet=string.ascii_letters + "!?*", min_size=1, max_size=20)
_forbidden = st.sampled_from(list(" éßøü/\\?%&*(),;:<>[]\"") + ["\u00a0", "\u200b", "名"])


# Text that must never be sent as a path: it would name another resource or another user.
_user_reference = st.one_of(
    st.sampled_from(["..", ".", "../organization", "a/b", "x?y=1", "a#b", "%2e%2e", " ", "users",
                     "$batch", "delta()", "me", "a@b@c", "@", "x@", "@x"]),
    st.text(min_size=1, max_size=30))


def _too_long(limit):
    return st.text(alphabet=st.one_of(_letters, st.sampled_from(" -")), min_size=limit + 1,
                   max_size=limit + 40).filter(lambda s: len(s.strip()) > limit)


@st.composite
def bad_username(draw):
    """A user name (the part before @) Entra refuses, and so its mail nickname."""
    ok = draw(_local_ok)
    kind = draw(st.sampled_from(["forbidden", "dots", "long", "empty", "two_at"]))
    if kind == "forbidden":          # spaces (a nickname with spaces), accents, other scripts...
        pos = draw(st.integers(0, len(ok)))
        return ok[:pos] + draw(_forbidden) + ok[pos:]
    if kind == "dots":
        return draw(st.sampled_from([f".{ok}", f"{ok}.", f"{ok[:1]}..{ok[1:]}"]))
    if kind == "long":
        return ok + "x" * (65 - len(ok) + draw(st.integers(0, 30)))
    if kind == "empty":
        return ""
    return f"{ok}@{ok}"


@st.composite
def bad_onboarding(draw, tenant):
    """(user fields, licenses, groups, roles, the field that must be named)."""
    user = {"given_name": draw(name), "surname": draw(name),
            "username": "hyp." + draw(_local_ok), "domain": tenant["domain"],
            "usage_location": draw(st.sampled_from(["US", "NL", "DE", "GB", "FR", "JP"]))}
    licenses, groups, roles = [], [tenant["group"]], []
    kind = draw(st.sampled_from([
        "given_name", "surname", "no_name", "display_name", "username", "domain",
        "unverified_domain", "usage_location", "usage_location_missing", "job_title",
        "department", "office_location", "postal_code", "mobile_phone", "business_phone",
        "alternate_email", "unknown_field", "licenses", "groups", "roles", "password",
        "account_enabled", "force_change_password", "manager"]))
    field = kind
    if kind in ("given_name", "surname"):
        user[kind] = draw(_too_long(64))
    elif kind == "no_name":
        user.update(given_name="", surname=draw(st.sampled_from(["", "   "])),
                    display_name=draw(st.sampled_from(["", " ", "\t"])))
        field = "display_name"
    elif kind == "display_name":
        user["display_name"] = draw(_too_long(256))
    elif kind == "username":
        user["username"] = draw(bad_username())
    elif kind == "domain":
        user["domain"] = draw(st.sampled_from(["", "no_tld", "-bad-.com", "a..b.com", "x.c"]))
    elif kind == "unverified_domain":
        user["domain"] = "not-ours-" + draw(_local_ok) + ".example"
        field = "domain"
    elif kind == "usage_location":
        user["usage_location"] = draw(st.text(min_size=1, max_size=5).filter(
            lambda s: s.strip() and s.strip().upper() not in COUNTRY_CODES))
    elif kind == "usage_location_missing":
        user.pop("usage_location")
        licenses = ["FLOW_FREE"]
        field = "usage_location"
    elif kind in ("job_title", "office_location"):
        user[kind] = draw(_too_long(128))
    elif kind == "department":
        user[kind] = draw(_too_long(64))
    elif kind == "postal_code":
        user[kind] = draw(_too_long(40))
    elif kind in ("mobile_phone", "business_phone"):
        user[kind] = draw(_not_phone)
    elif kind == "alternate_email":
        user[kind] = draw(_long.filter(lambda s: s.strip() and "@" not in s))
    elif kind == "unknown_field":
        field = draw(st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=15)
                     .filter(lambda s: s not in KNOWN_FIELDS))
        user[field] = draw(_long)
    elif kind == "licenses":
        licenses = ["NO_SUCH_SKU_" + draw(_local_ok)]
    elif kind == "groups":
        groups = ["No such group " + draw(_long)]
    elif kind == "roles":
        roles = ["No such role " + draw(_long)]
    elif kind == "password":
        user["password"] = draw(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=7))
    elif kind in ("account_enabled", "force_change_password"):
        user[kind] = draw(st.sampled_from(["yes", "no", 1, 0, "true", None.__class__.__name__]))
    elif kind == "manager":
        user["manager"] = draw(st.one_of(
            st.just(f"ghost.manager@{tenant['domain']}"), _user_reference, _long.filter(str.strip)))
    return user, licenses, groups, roles, field


@pytest.mark.slow
def test_bad_onboarding_fields_are_named_and_nothing_is_written(m365, emu, tenant):
    tid = tenant["tid"]
    users_before = {u["id"] for u in graph_all(emu, tid, "users", **{"$select": "id", "$top": "999"})}
    writes_before = write_count(emu)
    seen: set[str] = set()

    @settings(**EXAMPLES)
    @given(case=bad_onboarding(tenant))
    def check(case):
        user, licenses, groups, roles, field = case
        plan = m365.plan_onboarding(tid, user=user, licenses=licenses, groups=groups, roles=roles)
        fields = {p.field for p in plan.problems}
        assert field in fields, (field, plan.problems)
        assert all(isinstance(p.message, str) and p.message.strip() for p in plan.problems)
        assert "Traceback" not in repr(plan)
        with pytest.raises(PlanHasProblems) as refused:
            plan.apply()
        assert "nothing was changed" in str(refused.value)
        seen.add(field)

    check()
    assert write_count(emu) == writes_before
    after = {u["id"] for u in graph_all(emu, tid, "users", **{"$select": "id", "$top": "999"})}
    assert after == users_before
    assert m365.audit_log(tenant=tid, action="onboard").empty    # not even a "started" entry
    assert {"username", "usage_location", "display_name", "given_name"} <= seen


def test_valid_unicode_names_plan_without_problems(m365, emu, tenant):
    """No false alarms: names in any script, with hyphens and apostrophes, plan cleanly."""
    tid = tenant["tid"]
    writes_before = write_count(emu)

    @settings(**{**EXAMPLES, "max_examples": 30})
    @given(given_name=name, surname=name, local=_local_ok)
    def check(given_name, surname, local):
        plan = m365.plan_onboarding(tid, user={"given_name": given_name, "surname": surname,
                                               "username": f"ok.{local}", "domain": tenant["domain"],
                                               "usage_location": "NL"},
                                    licenses=["FLOW_FREE"], groups=[tenant["group"]])
        assert plan.problems == [], plan.problems
        assert list(plan.steps["action"]) == ["create user", "assign licenses", "add to group"]

    check()
    assert write_count(emu) == writes_before


def test_unknown_user_references_are_problems_not_exceptions(m365, emu, tenant):
    """Offboarding and edit plans name the `user` field for any text that is not a user of the
    tenant ('..', 'a/b', '', unicode...), and never send it as a path of another resource."""
    tid = tenant["tid"]
    writes_before = write_count(emu)

    @settings(**{**EXAMPLES, "max_examples": 40})
    @given(ref=_user_reference, delete=st.booleans())
    def check(ref, delete):
        off = m365.plan_offboarding(tid, ref, delete=delete, block_sign_in=True)
        assert [p.field for p in off.problems] == ["user"], off.problems
        edit = m365.plan_edit(tid, ref, changes={"department": "X"})
        assert "user" in {p.field for p in edit.problems}, edit.problems

    check()
    assert write_count(emu) == writes_before


def test_guest_style_user_names_are_looked_up_as_one_path_segment(m365, emu, tenant):
    """'#' (guests' #EXT#) and apostrophes are valid in a user name: a user created with them is
    found again by name (not cut at the '#'), so a second onboarding is refused as taken."""
    tid = tenant["tid"]
    user = {"given_name": "Sean", "surname": "O'Neil", "username": "o'neil#ext",
            "domain": tenant["domain"]}
    plan = m365.plan_onboarding(tid, user=user)
    assert plan.problems == []
    assert plan.apply().ok
    again = m365.plan_onboarding(tid, user=user)
    assert [p.field for p in again.problems] == ["username"]
    assert "already taken" in again.problems[0].message
    off = m365.plan_offboarding(tid, f"o'neil#ext@{tenant['domain']}", block_sign_in=True)
    assert off.problems == [] and off.user_id == plan.user_id
