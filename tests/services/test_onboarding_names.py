"""The onboarding plan derives the user principal name and the display name with the shared
rules (upn_from, display_name_from) the Create User page uses, and says which part is missing."""
from __future__ import annotations

import pytest

from services.workflows.onboarding import display_name_from, upn_from
from tests.helpers import emulated_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with emulated_world(tmp_path_factory.mktemp("names-emulator"), tenants=1,
                        users=10) as (emu, m365):
        tid = emu.tenant_ids[0]
        yield emu, m365, tid, m365.domains(tid)["domain"].iloc[0]


def test_onboarding_upn_and_display_name_come_from_the_shared_rules(world):
    emu, m365, tid, domain = world
    user = {"given_name": "  Jane ", "surname": " Rule-Doe ", "username": " jane.rule ",
            "domain": "@" + domain, "usage_location": "US"}
    plan = m365.plan_onboarding(tid, user=user)
    assert plan.problems == [] and plan.user == upn_from(" jane.rule ", "@" + domain)
    result = plan.apply()
    assert result.ok, result
    made = emu.session(tid).get(f"{emu.graph_url}/users/{plan.user}",
                                params={"$select": "displayName,userPrincipalName"}).json()
    assert made["userPrincipalName"] == f"jane.rule@{domain}"
    assert made["displayName"] == display_name_from("  Jane ", " Rule-Doe ") == "Jane Rule-Doe"


@pytest.mark.parametrize("username, domain, field, words", [
    ("jane.nodomain", "", "domain", "pick a domain"),
    ("", "DOMAIN", "username", "user name (before @) is empty"),
    ("", "", "username", "a user name and a domain are required"),
])
def test_onboarding_says_which_part_of_the_upn_is_missing(world, username, domain, field, words):
    _emu, m365, tid, known = world
    user = {"given_name": "Jane", "surname": "Doe", "username": username,
            "domain": known if domain == "DOMAIN" else domain}
    problems = [p for p in m365.plan_onboarding(tid, user=user).problems if p.field == field]
    assert problems and words in problems[0].message
