"""Bulk CSV reading: the files operators really produce, and precise problems for bad ones."""
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bulk.csvfile import read_bulk

ADMIN_TEMPLATE = ("User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,"
                  "Office Phone,Mobile Phone,Fax,Address,City,State or Province,ZIP or Postal Code,"
                  "Country or Region,Tenant,Usage Location,Licenses,Groups,Roles\n")


def test_bulk_reader_accepts_admin_center_template_with_bom_and_lists():
    text = "\ufeff" + ADMIN_TEMPLATE + (
        "ana@contoso.example,Ana,Núñez,,Engineer,R&D,12,+1 555,,,,Lyon,,69001,France,"
        "contoso.example,FR,SPB; POWER_BI_PRO,Sales Team;All Staff,\n")
    table = read_bulk(text.encode("utf-8"), "onboard")
    assert table.problems == []
    [row] = table.rows
    assert row["row"] == 2
    assert row["user_principal_name"] == "ana@contoso.example"
    assert row["surname"] == "Núñez"
    assert row["licenses"] == ["SPB", "POWER_BI_PRO"]
    assert row["groups"] == ["Sales Team", "All Staff"]
    assert row["roles"] == []
    assert table.header_of("given_name") == "First Name"


def test_bulk_reader_accepts_semicolons_quotes_and_graph_names():
    text = ('tenantId;userPrincipalName;givenName;surname;department\n'
            'contoso;"bob@contoso.example";Bob;"O\'Neil; Jr";"Sales, EMEA"\n\n;;;;\n')
    table = read_bulk(text, "onboard")
    assert table.problems == []
    assert table.rows[0]["surname"] == "O'Neil; Jr"
    assert table.rows[0]["department"] == "Sales, EMEA"
    assert len(table.rows) == 1   # blank rows are ignored


def test_bulk_reader_reports_unknown_and_missing_columns_with_suggestion():
    table = read_bulk("Tenant,User Name,Frist Name\nc,a@b.c,A\n", "onboard")
    messages = [str(p) for p in table.problems]
    assert "row 1, column 'Frist Name': unknown column; did you mean 'First Name'?" in messages
    assert any("column 'Last Name': required column is missing" in m for m in messages)
    assert table.rows == []


def test_bulk_reader_reports_duplicate_rows_and_header():
    text = "Tenant,User Name,First Name,Last Name\nc,a@c.example,A,B\nC,A@c.example,A,B\n"
    table = read_bulk(text, "onboard")
    assert [str(p) for p in table.problems] == ["row 3, column 'User Name': duplicates row 2"]
    assert len(table.rows) == 1
    dup_header = read_bulk("Tenant,User Name,UPN,First Name,Last Name\n", "onboard")
    assert "duplicates column 'User Name'" in str(dup_header.problems[0])


def test_bulk_reader_offboard_toggles_and_bad_value():
    text = "Tenant,User,Delete,Remove Licenses,Block Sign-in\nc,a@c.x,no,yes,1\nc,b@c.x,maybe,,\n"
    table = read_bulk(text, "offboard")
    assert table.rows[0]["remove_licenses"] is True and table.rows[0]["delete"] is False
    assert table.rows[0]["block_sign_in"] is True
    assert [str(p) for p in table.problems] == [
        "row 3, column 'Delete': 'maybe' is not yes/no (use yes, no, true, false, 1 or 0)"]


def test_bulk_reader_update_remove_licenses_is_a_list():
    table = read_bulk("Tenant,User,Department,Remove Licenses\nc,a@c.x,Ops,SPB;EMS\n", "update")
    assert table.rows[0]["remove_licenses"] == ["SPB", "EMS"]


def test_bulk_reader_takes_a_dataframe():
    df = pd.DataFrame({"Tenant": ["c"], "User": ["a@c.x"], "Reset Password": ["TRUE"]})
    table = read_bulk(df, "offboard")
    assert table.rows == [{"row": 2, "tenant": "c", "user": "a@c.x", "reset_password": True}]


def test_bulk_reader_empty_file_and_ragged_row():
    assert "file is empty" in str(read_bulk("", "onboard").problems[0])
    table = read_bulk("Tenant,User\nc,a@c.x,extra,cells\n", "offboard")
    assert "has 4 cells but the header has 2" in str(table.problems[0])


def test_bulk_reader_handles_10000_rows():
    lines = ["Tenant,User Name,First Name,Last Name"] + [
        f"c,user{i}@c.example,F{i},L{i}" for i in range(10_000)]
    table = read_bulk("\n".join(lines), "onboard")
    assert table.problems == [] and len(table.rows) == 10_000
    assert table.rows[-1]["row"] == 10_001


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(header=st.lists(_cell, min_size=0, max_size=6),
       rows=st.lists(st.lists(_cell, max_size=7), max_size=6),
       sep=st.sampled_from([",", ";", "\t"]), bom=st.booleans())
def test_bulk_reader_never_crashes_and_locates_every_problem(header, rows, sep, bom):
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(header)
    writer.writerows(rows)
    data = ("\ufeff" if bom else "") + buf.getvalue()
    table = read_bulk(data.encode("utf-8"), "onboard")
    for problem in table.problems:
        assert problem.row >= 1 and problem.message
    if table.problems and any(p.row == 1 for p in table.problems):
        assert table.rows == []   # a bad header applies nothing


@pytest.mark.parametrize("header", ["Remove Roles", "Remove directory roles", "remove_roles"])
def test_bulk_reader_offboard_remove_roles_is_a_yes_no_column(header):
    text = f"Tenant,User,{header}\nc,a@c.x,yes\nc,b@c.x,\nc,d@c.x,perhaps\n"
    table = read_bulk(text, "offboard")
    assert [r["remove_roles"] for r in table.rows] == [True, False, False]
    [problem] = table.problems
    assert (problem.row, problem.column) == (4, header) and "not yes/no" in problem.message


def test_bulk_reader_remove_roles_stays_a_list_of_roles_when_updating():
    table = read_bulk("Tenant,User,Remove Roles\nc,a@c.x,Helpdesk Administrator; Global Reader\n",
                      "update")
    assert table.problems == []
    assert table.rows[0]["remove_roles"] == ["Helpdesk Administrator", "Global Reader"]


def test_bulk_reader_suggests_remove_roles_for_a_near_miss():
    table = read_bulk("Tenant,User,Remove Role\nc,a@c.x,yes\n", "offboard")
    assert "did you mean 'Remove Roles'?" in str(table.problems[0])


def test_bulk_row_plan_passes_remove_roles_to_the_offboarding():
    from services.bulk.jobs import row_plan

    class Fake:
        def plan_offboarding(self, tenant, user, **options):
            self.seen = (tenant, user, options)
            return "plan"

    fake = Fake()
    row = read_bulk("Tenant,User,Remove Roles,Block Sign-in\nc,a@c.x,yes,yes\n", "offboard").rows[0]
    assert row_plan(fake, "offboard", row) == "plan"
    tenant, user, options = fake.seen
    assert (tenant, user) == ("c", "a@c.x")
    assert options["remove_roles"] is True and options["block_sign_in"] is True
    assert options["delete"] is False and options["remove_groups"] is False


def test_full_user_name_joins_the_part_before_the_at_with_the_domain_column():
    from services.bulk.onboard import full_user_name
    assert full_user_name("jane.doe", "contoso.com") == ("jane.doe@contoso.com", "")
    assert full_user_name("jane.doe@contoso.com", "") == ("jane.doe@contoso.com", "")
    assert full_user_name("jane.doe@contoso.com", "@Contoso.com") == ("jane.doe@contoso.com", "")
    upn, why = full_user_name("jane.doe@fabrikam.com", "contoso.com")
    assert "already has a domain" in why and "contoso.com" in why
