"""Onboarding templates against the emulator: made by hand or from a user, used by
plan_onboarding and bulk files, copied between tenants with what is missing listed.

One small world for the module (2 tenants). Each test names its own templates, so the order the
tests run in does not matter; the default-template test cleans up after itself.
"""
from __future__ import annotations

import itertools

import pytest

from services import Actor, PermissionDenied
from services.templates import TemplateProblems
from tests.helpers import emulated_world

_seq = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with emulated_world(tmp_path_factory.mktemp("templates-emu"), tenants=2, users=16,
                        seed=7) as (emu, m365):
        yield emu, m365


@pytest.fixture(scope="module")
def facts(world):
    emu, m365 = world
    a, b = emu.tenant_ids[:2]
    lic_a, lic_b = m365.licenses(a), m365.licenses(b)
    roomy = lic_a[lic_a["available"] > 50]["sku_part_number"].tolist()
    only_a = sorted(set(lic_a["sku_part_number"]) - set(lic_b["sku_part_number"]))
    groups = m365.groups(a)
    plain = groups[(groups["writable"] == True) & (groups["is_dynamic"] == False)  # noqa: E712
                   & ~groups["display_name"].str.startswith("SG-License")]
    return {"a": a, "b": b, "domain": m365.domains(a).iloc[0]["domain"], "roomy_sku": roomy[0],
            "only_a_sku": only_a[0], "groups": plain["display_name"].head(2).tolist(),
            "distribution": groups[groups["kind"] == "distribution"]["display_name"].iloc[0],
            "dynamic": groups[groups["is_dynamic"] == True]["display_name"].iloc[0],  # noqa: E712
            "role": "Helpdesk Administrator"}


def _group_id(m365, tenant_id, name):
    groups = m365.groups(tenant_id)
    return groups[groups["display_name"] == name]["id"].iloc[0]


def _graph(emu, tenant_id, path, **params):
    resp = emu.session(tenant_id).get(f"{emu.graph_url}/{path}", params=params,
                                      verify=str(emu.ca_file))
    resp.raise_for_status()
    return resp.json()


def _group_names(emu, tenant_id, user_id):
    body = _graph(emu, tenant_id, f"users/{user_id}/memberOf")
    return {g["displayName"] for g in body["value"] if g.get("@odata.type") == "#microsoft.graph.group"}


def _name():
    return f"T{next(_seq)}"


def test_template_onboarding_fills_what_the_caller_left_out(world, facts):
    emu, m365 = world
    a = facts["a"]
    name = _name()
    m365.save_template(a, name, domain=facts["domain"], username_format="first.last",
                       usage_location="gb", department="Sales", job_title="Account Manager",
                       company_name="Contoso Sales", office_location="Leeds", city="Leeds",
                       country="United Kingdom", licenses=[facts["roomy_sku"]],
                       groups=facts["groups"], roles=[facts["role"]])
    plan = m365.plan_onboarding(a, user={"given_name": "Zoë", "surname": "O'Neil",
                                         "department": "Support"}, template=name)
    assert plan.problems == [], plan
    assert plan.user == f"zoe.oneil@{facts['domain']}" and plan.template == name
    result = plan.apply()
    assert result.ok, result
    made = _graph(emu, a, f"users/{result.user_id}", **{"$select": (
        "userPrincipalName,department,jobTitle,companyName,officeLocation,city,usageLocation,"
        "assignedLicenses")})
    # The caller's department wins; the template fills the rest.
    assert (made["department"], made["jobTitle"], made["companyName"]) == (
        "Support", "Account Manager", "Contoso Sales")
    assert (made["officeLocation"], made["city"], made["usageLocation"]) == ("Leeds", "Leeds", "GB")
    sku_id = m365.licenses(a).set_index("sku_part_number").loc[facts["roomy_sku"], "sku_id"]
    assert [x["skuId"] for x in made["assignedLicenses"]] == [sku_id]
    assert set(facts["groups"]) <= _group_names(emu, a, result.user_id)


def test_template_lists_given_by_the_caller_replace_the_templates(world, facts):
    _emu, m365 = world
    name = _name()
    m365.save_template(facts["a"], name, domain=facts["domain"], username_format="flast",
                       usage_location="US", licenses=[facts["roomy_sku"]], groups=facts["groups"])
    plan = m365.plan_onboarding(facts["a"], user={"given_name": "Lee", "surname": "Replace"},
                                licenses=[], groups=facts["groups"][:1], template=name)
    assert plan.problems == [] and plan.user == f"lreplace@{facts['domain']}"
    actions = plan.steps["action"].tolist()
    assert "assign licenses" not in actions and actions.count("add to group") == 1


def test_template_default_applies_when_none_is_named_and_false_opts_out(world, facts):
    _emu, m365 = world
    name = _name()
    m365.save_template(facts["a"], name, domain=facts["domain"], username_format="firstl",
                       department="Default Dept", default=True)
    try:
        listed = m365.templates(facts["a"])
        assert listed.iloc[0]["name"] == name and listed["is_default"].sum() == 1
        plan = m365.plan_onboarding(facts["a"], user={"given_name": "Dee", "surname": "Fault"})
        assert plan.problems == [] and plan.user == f"deef@{facts['domain']}"
        assert plan.parameters["user"]["department"] == "Default Dept"
        assert any(w.field == "template" and name in w.message for w in plan.warnings)
        none = m365.plan_onboarding(facts["a"], user={"given_name": "Dee", "surname": "Fault"},
                                    template=False)
        assert [p.field for p in none.problems] == ["username"]     # no template: no user name
        # A second default replaces the first.
        other = _name()
        m365.save_template(facts["a"], other, department="Other", default=True)
        flags = m365.templates(facts["a"]).set_index("name")["is_default"]
        assert bool(flags[other]) and not bool(flags[name])
        m365.delete_template(facts["a"], other)
    finally:
        m365.delete_template(facts["a"], name)
    assert name not in m365.templates(facts["a"])["name"].tolist()


def test_template_unknown_name_is_a_plan_problem_listing_the_templates(world, facts):
    _emu, m365 = world
    plan = m365.plan_onboarding(facts["a"], user={"given_name": "No", "surname": "Such",
                                                  "username": "no.such", "domain": facts["domain"]},
                                template="Does Not Exist")
    problem = next(p for p in plan.problems if p.field == "template")
    assert "no template 'Does Not Exist'" in problem.message
    with pytest.raises(Exception):
        plan.apply()


def test_template_save_refuses_what_the_tenant_lacks_and_writes_nothing(world, facts):
    _emu, m365 = world
    before = len(m365.templates())
    audit_before = len(m365.audit_log(action="template_save"))
    with pytest.raises(TemplateProblems) as caught:
        m365.save_template(facts["a"], "Broken", licenses=["NO_SUCH_SKU"],
                           groups=["Group That Does Not Exist", facts["dynamic"]],
                           roles=["Chief Everything Officer"], domain="unverified.example",
                           username_format="f.last", usage_location="ZZ", office="Leeds")
    problems = {(p.field, p.message.split(";")[0]) for p in caught.value.problems}
    fields = {f for f, _ in problems}
    assert {"licenses", "groups", "roles", "domain", "username_format", "usage_location",
            "office"} <= fields
    text = str(caught.value)
    for value in ("NO_SUCH_SKU", "Group That Does Not Exist", facts["dynamic"],
                  "Chief Everything Officer", "unverified.example", "f.last", "ZZ",
                  "did you mean office_location"):
        assert value in text, value
    assert "nothing was changed" in text
    assert len(m365.templates()) == before
    assert len(m365.audit_log(action="template_save")) == audit_before


def test_template_writes_need_the_admin_role_and_are_audited(world, facts):
    _emu, m365 = world
    tech = m365.as_actor(Actor("tech@msp.example", role="technician"))
    with pytest.raises(PermissionDenied):
        tech.save_template(facts["a"], "Tech Made", department="X")
    with pytest.raises(PermissionDenied):
        tech.copy_template(facts["a"], "Tech Made", [facts["b"]])
    denied = m365.audit_log(actor="tech@msp.example", outcome="denied")
    assert {"template_save", "template_copy"} <= set(denied["action"])
    name = _name()
    m365.save_template(facts["a"], name, department="Audited")
    m365.delete_template(facts["a"], name)
    log = m365.audit_log(tenant=facts["a"])
    saved = log[(log["action"] == "template_save") & (log["outcome"] == "done")]
    assert any(d.get("name") == name for d in saved["detail"])
    assert ((log["action"] == "template_delete") & (log["outcome"] == "done")).any()
    with pytest.raises(TemplateProblems, match="no template"):
        m365.delete_template(facts["a"], name)


def test_template_from_user_copies_licenses_groups_roles_and_office_not_names_or_phones(world, facts):
    emu, m365 = world
    a = facts["a"]
    source = m365.plan_onboarding(a, user={
        "given_name": "Model", "surname": "Employee", "username": "model.employee",
        "domain": facts["domain"], "usage_location": "DE", "department": "Finance",
        "job_title": "Controller", "company_name": "Contoso GmbH", "office_location": "Berlin 3",
        "city": "Berlin", "country": "Germany", "mobile_phone": "+49 30 555 0100",
        "business_phone": "+49 30 555 0101"},
        licenses=[facts["roomy_sku"]], groups=facts["groups"] + [], roles=[facts["role"]],
        template=False).apply()
    assert source.ok, source
    name = _name()
    made = m365.template_from_user(a, f"model.employee@{facts['domain']}", name)
    assert made.username_format == "first.last" and made.domain == facts["domain"]
    assert (made.usage_location, made.department, made.job_title, made.company_name,
            made.office_location, made.city, made.country) == (
        "DE", "Finance", "Controller", "Contoso GmbH", "Berlin 3", "Berlin", "Germany")
    assert made.licenses == [facts["roomy_sku"]] and set(made.groups) == set(facts["groups"])
    assert made.roles == [facts["role"]]
    stored = m365.template(a, name).values()
    assert "Model" not in str(stored) and "555" not in str(stored)
    assert not {"given_name", "surname", "mobile_phone", "business_phone"} & set(stored)
    # A user in a distribution list: the template keeps it (Exchange Online adds new users
    # to it, when their license includes a mailbox).
    users = m365.users(a)
    someone = next(u for u in users["id"]
                   if any(g.get("displayName") == facts["distribution"]
                          for g in _graph(emu, a, f"users/{u}/memberOf")["value"]))
    preview = m365.template_from_user(a, someone, _name(), save=False)
    assert facts["distribution"] in preview.groups or any(
        g.lower() == str(_group_id(m365, a, facts["distribution"])).lower() for g in preview.groups)
    assert not any(v == facts["distribution"] for _f, v, _why in preview.left_out)
    assert preview.name not in m365.templates(a)["name"].tolist()


def test_template_copied_to_a_tenant_without_one_of_its_skus_reports_that_sku(world, facts):
    _emu, m365 = world
    name = _name()
    m365.save_template(facts["a"], name, domain=facts["domain"], username_format="first.last",
                       usage_location="US", department="Copied",
                       licenses=[facts["only_a_sku"]], groups=["All Company"])
    result = m365.copy_template(facts["a"], name, [facts["b"]])
    row = result.iloc[0]
    assert row["tenant_id"] == facts["b"] and row["status"] == "copied without what is missing"
    assert f"licenses {facts['only_a_sku']}" in row["missing"]
    assert f"domain {facts['domain']}" in row["missing"]
    copy = m365.template(facts["b"], name)
    assert copy.licenses == [] and copy.groups == ["All Company"] and copy.department == "Copied"
    assert copy.domain is None and not copy.is_default
    entry = m365.audit_log(tenant=facts["b"], action="template_copy").iloc[0]
    assert any(m["value"] == facts["only_a_sku"] for m in entry["detail"]["missing"])
    again = m365.copy_template(facts["a"], name, [facts["b"]]).iloc[0]
    assert again["status"] == "not copied" and "overwrite=True" in again["detail"]
    assert m365.copy_template(facts["a"], name, [facts["b"]], overwrite=True).iloc[0]["status"] \
        == "copied without what is missing"


def test_template_groups_from_user_offers_only_groups_that_can_be_given(world, facts):
    emu, m365 = world
    a = facts["a"]
    for user_id in m365.users(a)["id"]:
        groups = m365.user_groups(a, user_id)
        if (~groups["writable"].astype(bool)).any() and groups["writable"].astype(bool).any():
            break
    else:
        pytest.skip("no demo user is in both a writable and a read-only group")
    offered = m365.groups_from_user(a, user_id)
    assert len(offered) and offered["writable"].astype(bool).all()
    assert not offered["is_dynamic"].astype(bool).any()
    assert set(offered["id"]) < set(groups["id"])


def test_template_bulk_csv_column_fills_rows_and_row_values_override(world, facts):
    emu, m365 = world
    a, name = facts["a"], _name()
    m365.save_template(a, name, domain=facts["domain"], username_format="first.last",
                       usage_location="US", department="Bulk Dept",
                       licenses=[facts["roomy_sku"]], groups=facts["groups"][:1])
    csv_text = ("Tenant,User Name,First Name,Last Name,Department,Template\n"
                f"{a},,Bulky,Templated,,{name}\n"
                f"{a},own.name{next(_seq)}@{facts['domain']},Own,Name,Override,{name}\n")
    plan = m365.bulk_onboard(csv_text)
    assert plan.problems == [], plan.problems
    result = plan.apply(progress=False)
    assert result.ok, result
    made = _graph(emu, a, f"users/bulky.templated@{facts['domain']}",
                  **{"$select": "id,department,usageLocation,assignedLicenses"})
    assert made["department"] == "Bulk Dept" and made["usageLocation"] == "US"
    assert len(made["assignedLicenses"]) == 1
    assert facts["groups"][0] in _group_names(emu, a, made["id"])
    own = next(r for r in plan.rows if r.upn.startswith("own.name"))
    assert own.body["department"] == "Override"


def test_template_bulk_csv_unknown_template_names_the_row_and_the_column(world, facts):
    _emu, m365 = world
    a = facts["a"]
    csv_text = ("Tenant,User Name,First Name,Last Name,Onboarding Template\n"
                f"{a},fine.row{next(_seq)}@{facts['domain']},Fine,Row,\n"
                f"{a},bad.row{next(_seq)}@{facts['domain']},Bad,Row,No Such Template\n")
    plan = m365.bulk_onboard(csv_text)
    assert [(p.row, p.column) for p in plan.problems] == [(3, "Onboarding Template")]
    assert "no template 'No Such Template'" in plan.problems[0].message
    assert "row 3, column 'Onboarding Template'" in str(plan.problems[0])
