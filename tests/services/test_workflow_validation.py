"""Validation rules of the user workflows, checked without Graph."""
import pytest

from services.workflows.plan import Problem
from services.workflows.resolve import TenantFacts, group_kind, group_write_refusal, license_sources
from services.workflows.validation import (check_usage_location, graph_value, group_requests,
                                           license_requests, mail_nickname, property_problems,
                                           role_requests, upn_issue)

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
FULL = "3b555118-da6a-4418-894f-7df1e2096870"


@pytest.fixture
def facts():
    f = TenantFacts("tid")
    f.domains = {"contoso.com": {"id": "contoso.com", "isVerified": True},
                 "pending.contoso.com": {"id": "pending.contoso.com", "isVerified": False}}
    f.skus = {
        SPB: {"skuId": SPB, "skuPartNumber": "SPB", "capabilityStatus": "Enabled",
              "consumedUnits": 3, "prepaidUnits": {"enabled": 10},
              "servicePlans": [{"servicePlanId": "p-teams", "servicePlanName": "TEAMS1"},
                               {"servicePlanId": "p-exo", "servicePlanName": "EXCHANGE_S_STANDARD"}]},
        E3: {"skuId": E3, "skuPartNumber": "SPE_E3", "capabilityStatus": "Enabled",
             "consumedUnits": 12, "prepaidUnits": {"enabled": 10}, "servicePlans": []},
        FULL: {"skuId": FULL, "skuPartNumber": "O365_BUSINESS_ESSENTIALS",
               "capabilityStatus": "Suspended", "consumedUnits": 1, "prepaidUnits": {"enabled": 5}},
    }
    f.groups = {
        "g-sales": {"id": "g-sales", "displayName": "Sales", "groupTypes": ["Unified"],
                    "mailEnabled": True, "securityEnabled": False},
        "g-sec": {"id": "g-sec", "displayName": "VPN users", "groupTypes": [],
                  "mailEnabled": False, "securityEnabled": True},
        "g-dl": {"id": "g-dl", "displayName": "All staff", "groupTypes": [], "mailEnabled": True,
                 "securityEnabled": False},
        "g-msec": {"id": "g-msec", "displayName": "Finance mail", "groupTypes": [],
                   "mailEnabled": True, "securityEnabled": True},
        "g-dyn": {"id": "g-dyn", "displayName": "Everyone in NL", "groupTypes": ["DynamicMembership"],
                  "mailEnabled": False, "securityEnabled": True,
                  "membershipRule": "user.country -eq \"NL\""},
        "g-twin1": {"id": "g-twin1", "displayName": "Twins", "groupTypes": [], "securityEnabled": True},
        "g-twin2": {"id": "g-twin2", "displayName": "Twins", "groupTypes": [], "securityEnabled": True},
    }
    f.roles = {"r-ua": {"id": "r-ua", "displayName": "User Administrator", "templateId": "t-ua"}}
    return f


@pytest.mark.parametrize("code, ok", [("US", True), ("nl", True), ("GB", True), ("UK", False),
                                      ("XX", False), ("USA", False), ("", False), ("1A", False)])
def test_usage_location_is_a_real_iso_code(code, ok):
    assert (check_usage_location(code) is None) == ok


@pytest.mark.parametrize("upn, field", [
    ("jane.doe@contoso.com", None),
    ("JANE_o'neil@Contoso.com", None),
    ("jane doe@contoso.com", "username"),
    ("jané@contoso.com", "username"),
    (".jane@contoso.com", "username"),
    ("jane..doe@contoso.com", "username"),
    ("jane@", "domain"),
    ("jane@pending.contoso.com", "domain"),
    ("jane@fabrikam.com", "domain"),
    ("jane.contoso.com", "username"),
    ("x" * 65 + "@contoso.com", "username"),
])
def test_upn_rules(facts, upn, field):
    issue = upn_issue(upn, facts.verified_domains)
    assert (issue[0] if issue else None) == field


def test_unverified_domain_message_lists_the_verified_ones(facts):
    assert "contoso.com" in upn_issue("a@fabrikam.com", facts.verified_domains)[1]


def test_mail_nickname_keeps_safe_characters():
    assert mail_nickname("o'neil.jane+x@contoso.com") == "oneil.janex"


def test_property_problems_are_field_by_field():
    problems = property_problems({"given_name": "x" * 65, "business_phone": "call me",
                                  "usage_location": "ZZ", "department": "Sales", "job_title": None,
                                  "alternate_email": "nope", "account_enabled": "yes"})
    assert {p.field for p in problems} == {"given_name", "business_phone", "usage_location",
                                           "alternate_email", "account_enabled"}
    assert all(isinstance(p, Problem) and p.message for p in problems)


def test_graph_values():
    assert graph_value("business_phone", " +1 425 555 0100 ") == ["+1 425 555 0100"]
    assert graph_value("usage_location", "nl") == "NL"
    assert graph_value("department", "") is None
    assert graph_value("business_phone", None) == []


def test_licenses_by_part_number_product_name_and_id_with_seat_checks(facts):
    wanted, problems = license_requests(facts, ["spb", "Microsoft 365 Business Premium", SPB])
    assert wanted == [(SPB, [])] and problems == []
    wanted, problems = license_requests(facts, ["SPE_E3", "O365_BUSINESS_ESSENTIALS", "NOPE"])
    assert wanted == []
    messages = " | ".join(p.message for p in problems)
    assert "no seats left (12 of 10 used)" in messages       # negative seats left
    assert "Suspended" in messages
    assert "no license 'NOPE'" in messages and "SPB" in messages


def test_disabled_plans_by_name_or_id(facts):
    wanted, problems = license_requests(facts, [{"sku": "SPB", "disabled_plans": ["TEAMS1", "p-exo"]}])
    assert wanted == [(SPB, ["p-teams", "p-exo"])] and not problems
    _, problems = license_requests(facts, [{"sku": "SPB", "disabled_plans": ["YAMMER"]}])
    assert "no service plan YAMMER" in problems[0].message and "TEAMS1" in problems[0].message


def test_groups_must_be_writable_and_unambiguous(facts):
    found, problems = group_requests(facts, ["Sales", "g-sec", "All staff", "Finance mail",
                                             "Everyone in NL", "Twins", "Nope"])
    # Distribution lists and mail-enabled security groups are changed through Exchange Online.
    assert [g["id"] for g in found] == ["g-sales", "g-sec", "g-dl", "g-msec"]
    text = " | ".join(p.message for p in problems)
    assert "distribution list" not in text and "dynamic" in text
    assert "2 groups are named 'Twins'" in text and "no group 'Nope'" in text


def test_group_kinds(facts):
    kinds = {gid: group_kind(g) for gid, g in facts.groups.items()}
    assert kinds["g-sales"] == "microsoft365" and kinds["g-dl"] == "distribution"
    assert kinds["g-msec"] == "mail_security" and kinds["g-sec"] == "security"
    assert group_write_refusal(facts.groups["g-sales"]) is None


def test_roles_by_name_template_or_id(facts):
    found, problems = role_requests(facts, ["user administrator", "t-ua", "r-ua", "Wizard"])
    assert [r["id"] for r in found] == ["r-ua"]
    assert problems[0].field == "roles" and "Wizard" in problems[0].message


def test_license_sources_tell_direct_from_inherited():
    user = {"assignedLicenses": [{"skuId": SPB}, {"skuId": E3}],
            "licenseAssignmentStates": [
                {"skuId": SPB, "assignedByGroup": None, "disabledPlans": ["p-teams"]},
                {"skuId": E3, "assignedByGroup": "G-1"},
                {"skuId": SPB, "assignedByGroup": "g-2"}]}
    sources = license_sources(user)
    assert sources[SPB] == {"direct": True, "groups": ["g-2"], "disabled_plans": ["p-teams"]}
    assert sources[E3] == {"direct": False, "groups": ["g-1"], "disabled_plans": []}
    assert license_sources({"assignedLicenses": [{"skuId": SPB}]})[SPB]["direct"] is True


@pytest.mark.parametrize("ref, path", [
    ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "users/3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ("jane@contoso.com", "users/jane@contoso.com"),
    (" o'neil#ext@contoso.com ", "users/o%27neil%23ext@contoso.com"),
    ("john_fabrikam.com#EXT#@contoso.onmicrosoft.com",
     "users/john_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"),
    ("a/b@contoso.com", "users/a%2Fb@contoso.com"),
    ("..", None), ("", None), (" ", None), ("a/b", None), ("../organization", None),
    ("@contoso.com", None), ("jane@", None), ("a@b@c", None), (None, None),
])
def test_user_path_keeps_a_user_reference_in_one_segment(ref, path):
    from services.workflows.resolve import user_path
    assert user_path(ref) == path
