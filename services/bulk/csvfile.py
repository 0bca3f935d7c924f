"""Reading bulk CSV files as operators actually produce them.

Excel and the Microsoft 365 admin center's templates give us BOMs, semicolons in some locales,
quoted cells, blank trailing rows and headers with stray spaces. Every problem found here is
reported with its spreadsheet row number (the header is row 1) and column, and nothing is applied
from a file whose header is wrong.
"""
from __future__ import annotations

import csv
import difflib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowProblem:
    row: int          # spreadsheet row: 1 is the header, 2 the first data row
    column: str       # the column as written in the file ("" for the whole row)
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.message}"


# Canonical field -> accepted headers: the admin center's bulk-add template, Graph's property
# names, and our own. Matching ignores case, spaces and punctuation.
ONBOARD_COLUMNS = {
    "tenant": ["Tenant", "Tenant ID", "tenantId"],
    "user_principal_name": ["User Name", "userPrincipalName", "UPN", "User Principal Name"],
    # With a Domain column, User Name may be the part before the @, as on the Create User form.
    "domain": ["Domain"],
    "given_name": ["First Name", "givenName"],
    "surname": ["Last Name", "surname"],
    "display_name": ["Display Name", "displayName"],
    "job_title": ["Job Title", "jobTitle"],
    "department": ["Department", "department"],
    "company_name": ["Company", "Company Name", "companyName"],
    "office_location": ["Office Number", "officeLocation", "Office"],
    "business_phone": ["Office Phone", "businessPhones", "Business Phone"],
    "mobile_phone": ["Mobile Phone", "mobilePhone"],
    "fax": ["Fax", "faxNumber"],
    "alternate_email": ["Alternate email address", "otherMails"],
    "street_address": ["Address", "streetAddress"],
    "city": ["City", "city"],
    "state": ["State or Province", "state"],
    "postal_code": ["ZIP or Postal Code", "postalCode"],
    "country": ["Country or Region", "country"],
    "usage_location": ["Usage Location", "usageLocation"],
    "licenses": ["Licenses", "License"],
    "groups": ["Groups"],
    "roles": ["Roles"],
    "password": ["Password"],
    "manager": ["Manager"],
    "template": ["Template", "Onboarding Template"],
}
OFFBOARD_COLUMNS = {
    "tenant": ONBOARD_COLUMNS["tenant"],
    "user": ["User", "User Name", "userPrincipalName", "UPN", "id"],
    "delete": ["Delete", "Delete User"],
    "remove_licenses": ["Remove Licenses", "Remove assigned licenses"],
    "remove_groups": ["Remove Groups", "Remove from groups"],
    "remove_roles": ["Remove Roles", "Remove directory roles", "Remove admin roles"],
    "block_sign_in": ["Block Sign-in", "Block sign in"],
    "revoke_sessions": ["Revoke Sessions"],
    "reset_password": ["Reset Password"],
    "remove_mfa": ["Remove MFA", "Remove MFA methods"],
    "retire_devices": ["Retire Devices", "Retire managed devices"],
    "hand_over_to_manager": ["Hand Over To Manager", "Hand over groups to the manager"],
    # Auto Reply holds the message; an empty cell sets none (docs/OFFBOARDING.md).
    "auto_reply": ["Auto Reply", "Automatic Reply", "Out of Office"],
    "auto_reply_external": ["Auto Reply External", "External Reply"],
    "auto_reply_audience": ["Auto Reply Audience"],
    "auto_reply_start": ["Auto Reply Start"],
    "auto_reply_end": ["Auto Reply End"],
    # Exchange Online (docs/EXCHANGE.md). Mailbox Access / Send As: people (UPNs joined by ";")
    # or "manager"; Forward To: an address or "manager".
    "convert_to_shared": ["Convert To Shared", "Convert to shared mailbox", "Shared Mailbox"],
    "mailbox_access": ["Mailbox Access", "Full Access"],
    "automapping": ["Automapping", "Auto Mapping"],
    "send_as": ["Send As"],
    "forward_to": ["Forward To", "Forward Mail To", "Forwarding"],
    "keep_copy": ["Keep Copy", "Keep a Copy", "Deliver And Forward"],
    "hide_from_address_lists": ["Hide From Address Lists", "Hide From GAL"],
    "remove_distribution_lists": ["Remove Distribution Lists", "Remove from distribution lists"],
    # ISO 8601 with a UTC offset: the row is scheduled for then (docs/SCHEDULES.md); empty: now.
    "at": ["When", "Offboard At", "Scheduled At"],
}
UPDATE_COLUMNS = {
    "tenant": ONBOARD_COLUMNS["tenant"],
    "user": OFFBOARD_COLUMNS["user"],
    **{k: v for k, v in ONBOARD_COLUMNS.items()
       if k not in ("tenant", "user_principal_name", "licenses", "groups", "roles", "password",
                    "template")},
    "account_enabled": ["Account Enabled", "accountEnabled"],
    "add_licenses": ["Add Licenses"],
    "remove_licenses": ["Remove Licenses"],
    "add_groups": ["Add Groups"],
    "remove_groups": ["Remove Groups"],
    "add_roles": ["Add Roles"],
    "remove_roles": ["Remove Roles"],
}
REQUIRED = {
    "onboard": ("tenant", "user_principal_name", "given_name", "surname"),
    "offboard": ("tenant", "user"),
    "update": ("tenant", "user"),
}
LIST_FIELDS = {"licenses", "groups", "roles", "add_licenses", "remove_licenses", "add_groups",
               "remove_groups", "add_roles", "remove_roles"}
BOOL_FIELDS = {"delete", "remove_licenses", "remove_groups", "remove_roles", "block_sign_in",
               "revoke_sessions", "reset_password", "account_enabled", "remove_mfa",
               "retire_devices", "hand_over_to_manager", "convert_to_shared",
               "hide_from_address_lists", "remove_distribution_lists"}
# Booleans whose empty cell means yes (the form's defaults); "no" turns them off.
BOOL_DEFAULT_TRUE = {"automapping", "keep_copy"}
_TRUE = {"yes", "y", "true", "1", "x", "on"}
_FALSE = {"no", "n", "false", "0", "off", ""}


def columns_for(kind: str) -> dict[str, list[str]]:
    try:
        return {"onboard": ONBOARD_COLUMNS, "offboard": OFFBOARD_COLUMNS, "update": UPDATE_COLUMNS}[kind]
    except KeyError:
        raise ValueError(f"bulk kind must be onboard, offboard or update, got {kind!r}") from None


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class BulkTable:
    """The rows of a bulk file in canonical field names, and every problem found reading it."""

    kind: str
    rows: list[dict] = field(default_factory=list)       # each has "row" and canonical fields
    problems: list[RowProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)   # canonical field -> header as written

    def header_of(self, fieldname: str) -> str:
        return self.headers.get(fieldname, fieldname)


# Marks a character that could not be decoded: rows holding it are reported, never applied.
UNDECODABLE = "\ufffd"
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _decode(raw: bytes) -> str:
    """Text of a CSV file as Excel and the admin center save it.

    UTF-8 (with or without BOM); UTF-16 with a BOM (Excel's "Unicode Text"); else the Windows
    ANSI code page, which Excel uses for plain "CSV". A file that is UTF-8 in places but holds
    bytes that are not (text pasted from elsewhere) is neither: reading it as ANSI would garble
    every accented name silently, so it is read as UTF-8 and the bad bytes become UNDECODABLE,
    which `read_bulk` reports on their rows.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if _UTF8_MULTIBYTE.search(raw) and _mostly_utf8(raw):
            return raw.decode("utf-8-sig", errors="replace")
        # Excel on Windows saves "CSV" in the ANSI code page unless told otherwise.
        return raw.decode("cp1252", errors="replace")


def _mostly_utf8(raw: bytes) -> bool:
    """More valid UTF-8 multi-byte characters than bytes that are not UTF-8."""
    good = len(_UTF8_MULTIBYTE.findall(raw))
    bad = raw.decode("utf-8", errors="replace").count(UNDECODABLE)
    return good > bad


def _source_text(source) -> str:
    if isinstance(source, bytes):
        return _decode(source)
    # A string with a line break (or an empty one) is CSV text; any other string is a path.
    if isinstance(source, os.PathLike) or (isinstance(source, str) and source and "\n" not in source):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"bulk file {path} does not exist")
        return _decode(path.read_bytes())
    if isinstance(source, str):
        return source.lstrip("\ufeff")
    if hasattr(source, "read"):
        data = source.read()
        return _decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")
    raise TypeError("bulk source must be a path, CSV text, bytes, a file object or a DataFrame")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _records(source) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if isinstance(source, pd.DataFrame):
        header = [str(c) for c in source.columns]
        body = [(i + 2, ["" if pd.isna(v) else str(v) for v in rec])
                for i, rec in enumerate(source.itertuples(index=False, name=None))]
        return header, body
    text = _source_text(source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = list(reader)
    if not rows:
        return [], []
    return rows[0], [(i + 2, r) for i, r in enumerate(rows[1:])]


def read_bulk(source, kind: str) -> BulkTable:
    """Parse a bulk CSV (or DataFrame) into canonical rows; never raises for bad content."""
    spec = columns_for(kind)
    table = BulkTable(kind)
    header, records = _records(source)
    if not header or not any(h.strip() for h in header):
        table.problems.append(RowProblem(1, "", "the file is empty: the first row must hold the "
                                         "column headers"))
        return table
    lookup = {_key(alias): name for name, aliases in spec.items() for alias in aliases + [name]}
    index: dict[str, int] = {}
    for pos, raw in enumerate(header):
        name = raw.strip()
        if not name:
            if any(pos < len(r) and r[pos].strip() for _, r in records):
                table.problems.append(RowProblem(1, f"column {pos + 1}", "has values but no header"))
            continue
        canonical = lookup.get(_key(name))
        if canonical is None:
            hint = difflib.get_close_matches(name, [a for aliases in spec.values() for a in aliases], 1)
            table.problems.append(RowProblem(1, name, "unknown column" + (
                f"; did you mean '{hint[0]}'?" if hint else
                f"; {kind} files accept: {', '.join(v[0] for v in spec.values())}")))
            continue
        if canonical in index:
            table.problems.append(RowProblem(1, name, f"duplicates column '{table.headers[canonical]}'"))
            continue
        index[canonical] = pos
        table.headers[canonical] = name
    for req in REQUIRED[kind]:
        # With a Template column, an onboarding row's user name may come from its template's
        # username format and domain.
        if kind == "onboard" and req == "user_principal_name" and "template" in index:
            continue
        if req not in index:
            table.problems.append(RowProblem(1, spec[req][0], "required column is missing"))
    if table.problems:
        return table
    if len(records) > MAX_ROWS:
        table.problems.append(RowProblem(1, "", f"{len(records)} rows is more than the {MAX_ROWS} "
                                         "a bulk job takes; split the file"))
        return table
    seen: dict[tuple, int] = {}
    for number, cells in records:
        if not any(c.strip() for c in cells):
            continue   # blank rows are what spreadsheets leave at the end; not an error
        if any(UNDECODABLE in c for c in cells):
            column = next((header[i].strip() for i, c in enumerate(cells)
                           if UNDECODABLE in c and i < len(header)), "")
            table.problems.append(RowProblem(number, column, "holds characters that are not "
                                             "UTF-8; save the file as 'CSV UTF-8' and try again"))
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            table.problems.append(RowProblem(number, "", f"has {len(cells)} cells but the header has "
                                             f"{len(header)}; check for an unquoted separator"))
            continue
        row = {"row": number}
        for name, pos in index.items():
            value = cells[pos].strip() if pos < len(cells) else ""
            row[name] = _convert(table, number, name, value)
        ident = _identity(kind, row)
        if ident in seen:
            column = table.header_of("user_principal_name" if kind == "onboard" else "user")
            table.problems.append(RowProblem(number, column, f"duplicates row {seen[ident]}"))
            continue
        seen[ident] = number
        table.rows.append(row)
    return table


def _identity(kind: str, row: dict) -> tuple:
    who = row.get("user_principal_name") if kind == "onboard" else row.get("user")
    if not who:
        # A user name a template builds later (or a row missing one, reported later) is
        # compared once it is known, not here: empty cells are not duplicates of each other.
        return ("", f"row {row['row']}")
    return (str(row.get("tenant", "")).lower(), str(who or "").lower())


def _convert(table: BulkTable, number: int, name: str, value: str):
    if name == "at":
        if not value:
            return None
        from ..workflows.scheduled import iso, parse_at
        when, problem = parse_at(value)
        if problem:
            table.problems.append(RowProblem(number, table.header_of(name), problem))
            return None
        return iso(when)     # UTC text: the row is stored in the bulk journal as JSON
    # "Remove Licenses" (and Groups, Roles) is a yes/no toggle when offboarding and a list of
    # names when updating.
    if name in LIST_FIELDS and table.kind != "offboard":
        return [part.strip() for part in re.split(r"[;|]", value) if part.strip()]
    if name in BOOL_FIELDS or name in BOOL_DEFAULT_TRUE:
        low = value.lower()
        if not low and name in BOOL_DEFAULT_TRUE:
            return True
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        table.problems.append(RowProblem(number, table.header_of(name),
                                         f"'{value}' is not yes/no (use yes, no, true, false, 1 or 0)"))
        return False
    return value
