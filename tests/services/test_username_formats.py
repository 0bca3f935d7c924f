"""Username formats (first.last, flast, firstl, first) and how a template fills a new user:
one rule each, in services.workflows.onboarding and .templating."""
from __future__ import annotations

import pytest

from services.workflows.onboarding import USERNAME_FORMATS, upn_from, username_from
from services.workflows.templating import Template, fill, name_problem


@pytest.mark.parametrize("fmt, expected", [
    ("first.last", "jane.doe"), ("flast", "jdoe"), ("firstl", "janed"), ("first", "jane"),
    ("FIRST.LAST", "jane.doe"),
])
def test_username_formats_build_the_user_name_from_the_names(fmt, expected):
    assert username_from("Jane", "Doe", fmt) == expected


def test_username_formats_examples_are_what_the_rule_builds():
    for fmt, example in USERNAME_FORMATS.items():
        assert username_from("Jane", "Doe", fmt) == example


@pytest.mark.parametrize("given, surname, expected", [
    ("José", "Müller", "jose.muller"),                 # accents folded
    ("Søren", "Kierkegaard", "soren.kierkegaard"),      # letters NFKD leaves alone
    ("Ægir", "Straße", "aegir.strasse"),
    ("Sean", "O'Brien", "sean.obrien"),                 # apostrophes dropped
    ("Anna", "van der Berg", "anna.vanderberg"),        # spaces dropped
    ("Mary-Jane", "Smith-Jones", "mary-jane.smith-jones"),   # hyphens kept
    ("  Jane ", " DOE ", "jane.doe"),
])
def test_username_formats_make_names_safe_for_a_user_principal_name(given, surname, expected):
    assert username_from(given, surname, "first.last") == expected


def test_username_formats_give_nothing_without_the_names_they_need():
    assert username_from("Jane", "", "flast") == ""
    assert username_from("Jane", "", "first") == "jane"
    assert username_from("", "Doe", "first.last") == ""
    assert username_from("王", "伟", "first.last") == ""   # no letters A-Z: the caller must give one


def test_username_formats_unknown_format_is_an_error_naming_the_formats():
    with pytest.raises(ValueError, match="first.last, flast, firstl, first"):
        username_from("Jane", "Doe", "f.last")


def test_username_formats_and_domain_give_the_upn():
    assert upn_from(username_from("Jane", "Doe", "flast"), "contoso.com") == "jdoe@contoso.com"


def _template(**values):
    return Template("tid", "Sales", **values)


def test_template_fill_uses_template_values_only_where_the_caller_gave_none():
    template = _template(domain="contoso.com", username_format="first.last", department="Sales",
                         job_title="Rep", licenses=["SPB"], groups=["Sales Team"], roles=[])
    user, licenses, groups, roles, filled = fill(
        template, {"given_name": "Jane", "surname": "Doe", "department": "Support"},
        None, ["Other"], None)
    assert user["department"] == "Support" and user["job_title"] == "Rep"
    assert user["username"] == "jane.doe" and user["domain"] == "contoso.com"
    assert licenses == ["SPB"] and groups == ["Other"] and roles is None
    assert set(filled) == {"domain", "job_title", "username", "licenses"}


def test_template_fill_keeps_a_username_or_upn_the_caller_gave():
    template = _template(domain="contoso.com", username_format="flast")
    user, *_ = fill(template, {"given_name": "Jane", "surname": "Doe", "username": "jd"}, None, None, None)
    assert user["username"] == "jd"
    user, *_ = fill(template, {"given_name": "Jane", "surname": "Doe",
                               "user_principal_name": "x@contoso.com"}, None, None, None)
    assert "username" not in user


def test_template_fill_with_an_empty_list_means_none():
    template = _template(licenses=["SPB"])
    _user, licenses, *_ = fill(template, {}, [], None, None)
    assert licenses == []


@pytest.mark.parametrize("name, words", [("", "needs a name"), ("None", "means 'no template'"),
                                          ("x" * 101, "at most 100"), ("a\nb", "line breaks")])
def test_template_names_that_cannot_be_used(name, words):
    assert words in name_problem(name)
