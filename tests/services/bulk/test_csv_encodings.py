"""What test_csvfile.py leaves out: the encodings, line endings and header spellings operators'
tools produce, and files whose rows are broken in ways that must be reported, not applied."""
import csv
import io
import time

import pytest

from services.bulk.csvfile import read_bulk

HEADER = ["Tenant", "User Name", "First Name", "Last Name", "Department"]
ROWS = [["contoso", "ana@contoso.example", "Ana", "Núñez", "R&D"],
        ["contoso", "zoe@contoso.example", "Zoë", "Müller-Lüdenscheidt", "Sales, EMEA"],
        ["contoso", "li@contoso.example", "李", "王", "Ops"]]


def _csv(rows, sep=",", line="\n"):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=line).writerows([HEADER, *rows])
    return buf.getvalue()


@pytest.mark.parametrize("encoding, sep", [("utf-16", "\t"), ("utf-16", ","), ("utf-16-be", ",")])
def test_utf16_files_with_a_bom_are_read(encoding, sep):
    """Excel's "Unicode Text" is UTF-16 with a BOM and tabs."""
    raw = _csv(ROWS, sep).encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    table = read_bulk(raw, "onboard")
    assert table.problems == []
    assert [r["surname"] for r in table.rows] == ["Núñez", "Müller-Lüdenscheidt", "王"]


def test_excel_ansi_csv_keeps_accented_names():
    rows = [r for r in ROWS if r[2] != "李"]      # cp1252 cannot hold Chinese
    table = read_bulk(_csv(rows, ";").encode("cp1252"), "onboard")
    assert table.problems == []
    assert [r["given_name"] for r in table.rows] == ["Ana", "Zoë"]
    assert table.rows[1]["surname"] == "Müller-Lüdenscheidt"


def test_utf8_file_with_foreign_bytes_reports_the_row_instead_of_garbling_every_name():
    text = _csv(ROWS + [["contoso", "bo@contoso.example", "Bo", "Smith\x96Jones", "Ops"]])
    raw = text.encode("utf-8").replace("\x96".encode("utf-8"), b"\x96")   # a stray ANSI dash
    table = read_bulk(raw, "onboard")
    assert [str(p) for p in table.problems] == [
        "row 5, column 'Last Name': holds characters that are not UTF-8; save the file as "
        "'CSV UTF-8' and try again"]
    assert [r["surname"] for r in table.rows] == ["Núñez", "Müller-Lüdenscheidt", "王"]


def test_crlf_and_quoted_cells_with_line_breaks_keep_spreadsheet_row_numbers():
    rows = [ROWS[0], ["contoso", "multi@contoso.example", "Multi", "Line", "Floor 1\r\nRoom 2"],
            ["contoso", "bad", "No", "Domain", "Ops"]]
    table = read_bulk(_csv(rows, line="\r\n").encode("utf-8-sig"), "onboard")
    assert table.problems == []
    assert [r["row"] for r in table.rows] == [2, 3, 4]     # a record spanning lines is one row
    assert table.rows[1]["department"] == "Floor 1\r\nRoom 2"
    assert table.rows[0]["surname"] == "Núñez"


def test_header_spellings_spaces_case_and_graph_names_are_accepted():
    text = "  TENANT ; user principal name;first name ;LAST-NAME;  Department\nc;a@c.x;A;B;Ops\n"
    table = read_bulk(text, "onboard")
    assert table.problems == []
    assert table.rows[0]["user_principal_name"] == "a@c.x"
    assert table.header_of("given_name") == "first name"


def test_duplicates_differing_in_case_and_spaces_are_one_user():
    rows = [ROWS[0], ["CONTOSO", "  ANA@Contoso.example ", "Ana", "Again", ""], ROWS[1]]
    table = read_bulk(_csv(rows), "onboard")
    assert [str(p) for p in table.problems] == ["row 3, column 'User Name': duplicates row 2"]
    assert len(table.rows) == 2


def test_header_only_whitespace_only_and_separator_only_files():
    for text in ("\ufeff", "\n\n", " , , \n", ";;;\n"):
        problems = read_bulk(text.encode("utf-8"), "onboard").problems
        assert len(problems) == 1 and problems[0].row == 1 and "empty" in problems[0].message
    table = read_bulk(",".join(HEADER) + "\n", "onboard")
    assert table.problems == [] and table.rows == []


def test_wrong_kind_of_file_names_the_missing_columns():
    offboard = "Tenant,User,Delete\nc,a@c.x,yes\n"
    problems = [str(p) for p in read_bulk(offboard, "onboard").problems]
    assert any("column 'User'" in p and "unknown column" in p for p in problems)
    assert any("'User Name': required column is missing" in p for p in problems)
    assert any("'First Name': required column is missing" in p for p in problems)


def test_10000_rows_with_bad_rows_are_read_fast_with_a_problem_per_bad_row():
    lines = [",".join(HEADER)]
    expected = {}
    for i in range(10_000):
        row = 2 + i
        if i % 1000 == 7:
            lines.append(f"c,user{i - 1}@c.example,F,L,Ops")          # duplicates the row before
            expected[row] = "duplicates"
        elif i % 1000 == 500:
            lines.append(f"c,user{i}@c.example,F,L,Ops,extra")        # an unquoted separator
            expected[row] = "cells"
        elif i % 2500 == 3:
            lines.append("")                                         # blank: ignored
        else:
            lines.append(f'c,user{i}@c.example,"F{i}","L, {i}",Ops')
    started = time.perf_counter()
    table = read_bulk("\n".join(lines).encode("utf-8-sig"), "onboard")
    elapsed = time.perf_counter() - started
    assert {p.row: ("duplicates" if "duplicates" in p.message else "cells") for p in table.problems} \
        == expected
    assert len(table.rows) == 10_000 - len(expected) - 4
    assert elapsed < 10, f"{elapsed:.1f}s to read 10,000 rows"
