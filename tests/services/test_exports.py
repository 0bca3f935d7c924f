"""Exports neutralise spreadsheet formulas and keep passwords private."""
import os
import stat

import pandas as pd

from services.exports import safe_frame, to_csv, to_excel, write_private


def test_exports_neutralise_formula_cells_but_keep_numbers():
    df = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "\tx", "plain"],
                       "seats": [-2, 1, 2, 3, 4, 5]})
    out = safe_frame(df)
    assert out["name"].tolist() == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "plain"]
    assert out["seats"].tolist() == [-2, 1, 2, 3, 4, 5]
    text = to_csv(df)
    assert "'=HYPERLINK" in text and "\n=" not in text


def test_exports_excel_has_no_formulas(tmp_path):
    from openpyxl import load_workbook
    df = pd.DataFrame({"dept": pd.Categorical(["=1+1", "Sales"]),
                       "when": pd.to_datetime(["2026-01-01", "2026-02-01"], utc=True)})
    path = tmp_path / "x.xlsx"
    to_excel(df, path)
    ws = load_workbook(path).active
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type != "f"
    assert ws["B1"].value == "when (UTC)"


def test_exports_private_file_is_mode_0600(tmp_path):
    path = tmp_path / "passwords.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_private(path, "user,password\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "user,password\n"
