"""Bad bulk files end to end against the emulator: a 10,000-row onboarding file validates in
seconds with one precise problem per bad row, generated files never raise, and the CLI shows
problems without a traceback. Nothing is written in any of these."""
import csv
import io
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main

from .conftest import write_count


SEED = 59          # the emulator's data (tests/reliability/conftest.py)


@pytest.fixture(scope="module")
def facts(m365, emu):
    tid = emu.tenant_ids[0]
    row = m365.tenants().set_index("tenant_id").loc[tid]
    groups = m365.groups(tid)
    return {"tid": tid, "domain": row["default_domain"],
            "group": groups[groups["writable"] == True]["display_name"].iloc[0],  # noqa: E712
            "taken": m365.users(tid)["user_principal_name"].iloc[0]}


def _big_file(facts, n=10_000):
    """n rows; every 37th row has one problem, in turn of eight kinds. Returns (rows, expected)."""
    d = facts["domain"]
    bad = [("Usage Location", "ZZ"), ("User Name", "no-at-sign"), ("Licenses", "NO_SUCH_SKU"),
           ("Groups", "No Such Group"), ("First Name", ""), ("Mobile Phone", "call me"),
           ("User Name", "x@unverified.example"), ("User Name", facts["taken"])]
    rows, expected = [], {}
    for i in range(n):
        row = {"Tenant": facts["tid"], "User Name": f"big{i:05d}@{d}", "First Name": "Zoë",
               "Last Name": f"Ñandú {i}", "Usage Location": "NL", "Licenses": "",
               "Groups": facts["group"], "Mobile Phone": "+31 20 555 0100"}
        if i % 37 == 5:
            column, value = bad[(i // 37) % len(bad)]
            row[column] = value
            expected[i + 2] = column
        rows.append(row)
    return rows, expected


def test_10000_row_onboarding_file_validates_fast_with_one_problem_per_bad_row(m365, emu, facts,
                                                                               tmp_path):
    rows, expected = _big_file(facts)
    path = tmp_path / "big.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    writes = write_count(emu)
    started = time.perf_counter()
    plan = m365.bulk_onboard(path)
    seconds = time.perf_counter() - started
    found = {}
    for p in plan.problems:
        found.setdefault(p.row, set()).add(p.column)
    assert found == {row: {column} for row, column in expected.items()}, \
        plan.problems_frame.head(20).to_string()
    assert all(p.message for p in plan.problems)
    assert len(plan.rows) == 10_000 - len(expected)
    assert seconds < 60, f"validating 10,000 rows took {seconds:.1f}s"
    print(f"\n10,000-row onboarding file: {len(plan.problems)} problems in {seconds:.1f}s")
    with pytest.raises(ValueError, match=f"{len(expected)} problems in {len(expected)} rows"):
        plan.apply(progress=False)
    assert write_count(emu) == writes and m365.bulk_jobs().empty


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
COLUMNS = ["Tenant", "User Name", "First Name", "Last Name", "Usage Location", "Licenses",
           "Groups", "Mobile Phone", "Department", "Password", "Manager", "Roles"]


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_onboarding_files_locate_every_problem_and_write_nothing(m365, emu, facts, data):
    columns = data.draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=len(COLUMNS),
                                 unique=True), label="columns")
    good = {"Tenant": facts["tid"], "First Name": "Ana", "Last Name": "Núñez",
            "Usage Location": "NL", "Groups": facts["group"]}
    rows = []
    for i in range(data.draw(st.integers(1, 5), label="rows")):
        row = {c: good.get(c, "") for c in columns}
        if "User Name" in row:
            row["User Name"] = f"gen{i}@{facts['domain']}"
        for column in data.draw(st.lists(st.sampled_from(columns), max_size=3), label="bad"):
            row[column] = data.draw(_cell, label=column)
        rows.append(row)
    sep = data.draw(st.sampled_from([",", ";"]), label="sep")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, delimiter=sep)
    writer.writeheader()
    writer.writerows(rows)
    raw = buf.getvalue().encode(data.draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])))
    writes = write_count(emu)
    plan = m365.bulk_onboard(raw)
    for p in plan.problems:
        assert 1 <= p.row <= len(rows) + 1 + sum(str(v).count("\n") for r in rows for v in r.values())
        assert p.message.strip()
        assert p.row == 1 or p.column == "" or p.column in columns, (p, columns)
    planned = {r.row for r in plan.rows}
    assert not planned & {p.row for p in plan.problems}
    if plan.problems:
        with pytest.raises(ValueError):
            plan.apply(progress=False)
    assert write_count(emu) == writes


def test_cli_shows_problems_without_traceback_and_applies_nothing(m365, emu, facts, tmp_path,
                                                                   capsys):
    rows, expected = _big_file(facts, n=200)
    path = tmp_path / "cli.csv"
    pd.DataFrame(rows).to_csv(path, index=False, sep=";")
    writes = write_count(emu)
    capsys.readouterr()
    code = main(["bulk", "onboard", str(path), "--config", str(emu.config_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert f"{len(expected)} problems:" in err and "nothing applied" in err
    for row, column in expected.items():
        assert f"row {row}, column '{column}'" in err
    # Unreadable or missing files: exit 2 with the reason, no traceback.
    for bad in (tmp_path / "missing.csv", tmp_path):
        code = main(["bulk", "onboard", str(bad), "--config", str(emu.config_path), "--no-progress"])
        out, err = capsys.readouterr()
        assert code == 2 and "Traceback" not in out + err and str(bad) in err
    assert write_count(emu) == writes
