"""CSV and Excel exports that spreadsheet programs cannot turn into formulas.

A cell that starts with = + - @, a tab or a carriage return is executed by Excel and LibreOffice
as a formula (CSV injection); such text cells get a leading apostrophe. Numbers are left alone,
so a negative seat count stays a number.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text cells (and column names) cannot start a formula."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series) \
                or isinstance(series.dtype, pd.CategoricalDtype):
            out[col] = series.astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _strip_tz(df: pd.DataFrame) -> pd.DataFrame:
    # Excel cannot store timezone-aware datetimes; every timestamp here is UTC, so say so in the header.
    out = df.copy()
    renames = {}
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
            renames[col] = f"{col} (UTC)"
    return out.rename(columns=renames)


def to_csv(df: pd.DataFrame, path: str | os.PathLike | None = None) -> str | None:
    """Write (or return, when `path` is None) a UTF-8 CSV with a BOM so Excel reads accents."""
    text = safe_frame(df).to_csv(index=False)
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8-sig")
    return None


def to_excel(df: pd.DataFrame, path: str | os.PathLike | io.BytesIO, sheet_name: str = "data") -> None:
    safe_frame(_strip_tz(df)).to_excel(path, index=False, sheet_name=sheet_name)


def write_private(path: str | os.PathLike, text: str) -> Path:
    """Create a file only the owner can read (mode 0600), for generated passwords."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(target, 0o600)   # O_CREAT's mode does not apply to a file that already existed
    return target
