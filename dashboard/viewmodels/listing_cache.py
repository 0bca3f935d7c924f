"""The All Users listing, read once per server process and shared by its browser sessions.

Reading 100,000 users from the store and building their search key takes seconds; doing it for
every session made the first rows of All Users slow. Sessions only filter the shared frame (a
boolean mask makes a new frame), so sharing is safe. Before each use the cache asks the store
which tenants changed (`M365.tenant_versions()`, one small query) and re-reads only those, so a
write made by another dashboard process on the same store shows up too.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.mailbox_details import shared_mailbox_to_tidy

TABLE_COLUMNS = ["tenant_name", "display_name", "user_principal_name", "department", "job_title",
                 "licenses", "licenses_shown", "mailbox", "account_enabled", "last_sign_in",
                 "tenant_id", "id", "licensed", "shared_to_tidy"]
# Made here, once per listing read, not by users() (what a filter or a cell needs per row, so no
# keystroke does per-row work): the mailbox in a word, whether the user holds a license, and
# whether a shared mailbox still holds a license or still allows sign-in (the services' one rule,
# services.mailbox_details.shared_mailbox_to_tidy: the admin center and Lighthouse flag both).
DERIVED = ("licenses_shown", "mailbox", "licensed", "shared_to_tidy")
MAILBOX_WORDS = {"SharedMailbox": "Shared", "UserMailbox": "User", "RoomMailbox": "Room",
                 "EquipmentMailbox": "Equipment"}
SEARCHED = ["display_name", "user_principal_name", "department", "job_title"]
# Re-reading a few tenants is cheaper than the whole listing; past this many, read it all.
PARTIAL_LIMIT = 20


# Product names as MSP technicians shorten them, so a user's licenses fit a table cell and
# "Business Basic" stays apart from "Business Premium". Applied in this order.
SHORT_NAMES = (("Microsoft 365", "M365"), ("Office 365", "O365"), ("Microsoft Entra ID", "Entra ID"),
               ("Copilot for M365", "Copilot"), ("Microsoft ", ""))


def short_licenses(text: str) -> str:
    """One user's licenses ("; "-joined product names) as All Users shows them."""
    for long, short in SHORT_NAMES:
        text = text.replace(long, short)
    return text


def display(users: pd.DataFrame) -> pd.DataFrame:
    """The listing as the table shows it (the view formats last sign-in, 'never' when none).
    `licenses` keeps the full names (CSV, filters); `licenses_shown` is what the cell shows."""
    out = users[[c for c in TABLE_COLUMNS if c not in DERIVED]].reset_index(drop=True).copy()
    # Few users hold a combination of licenses no one else holds: shorten each combination once.
    codes, combos = pd.factorize(out["licenses"].fillna("").astype(str))
    shown = np.array([short_licenses(c) for c in combos], dtype=object)
    out.insert(out.columns.get_loc("licenses") + 1, "licenses_shown",
               shown[codes] if len(codes) else pd.Series([], dtype=object))
    kinds = (users["mailbox_type"] if "mailbox_type" in users else pd.Series("", index=users.index))
    out.insert(out.columns.get_loc("licenses_shown") + 1, "mailbox",
               kinds.astype(object).map(MAILBOX_WORDS).fillna("").astype(object).to_numpy())
    out["licensed"] = (out["licenses"].fillna("").astype(str).str.len() > 0).to_numpy(dtype=bool)
    out["shared_to_tidy"] = (shared_mailbox_to_tidy(users).to_numpy(dtype=bool)
                             if "mailbox_type" in users else np.zeros(len(out), dtype=bool))
    # A time, not text: sorted by the server, "never" (no time) stays last either way.
    out["last_sign_in"] = pd.to_datetime(out["last_sign_in"], utc=True).dt.tz_localize(None)
    return out


def search_key(frame: pd.DataFrame) -> pd.Series:
    """One lower-case text per row, so each keystroke is a single scan."""
    key = frame[SEARCHED[0]].astype(str)
    for col in SEARCHED[1:]:
        key = key + "\n" + frame[col].astype(str).fillna("")
    return key.str.lower()


@dataclass
class UserListing:
    """One store's users as shown in All Users, with their search key. Treat as read-only."""

    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS))
    key: pd.Series = field(default_factory=lambda: pd.Series(dtype=str))
    tenants: pd.DataFrame | None = None
    versions: dict[str, str] = field(default_factory=dict)
    reads: int = 0                 # store reads done (whole listing or some tenants), for tests


# Keyed by the Store object itself (weakly): an id() could be reused by a later store.
_LISTINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def user_listing(m365, stale_tenants=()) -> UserListing:
    """The current listing of `m365`'s store; `stale_tenants` are re-read even when the store's
    versions did not change (a write in this process that may not have reached the store's
    version yet). Concurrent sessions wait for one read instead of each reading."""
    with _LOCK:
        store_key = m365.store
        cached = _LISTINGS.get(store_key)
        versions = m365.tenant_versions()
        if cached is None:
            listing = _read_all(m365, versions)
        else:
            changed = {t for t in set(versions) | set(cached.versions)
                       if versions.get(t) != cached.versions.get(t)} | set(stale_tenants)
            if not changed:
                return cached
            if len(changed) > PARTIAL_LIMIT:
                listing = _read_all(m365, versions)
                listing.reads = cached.reads + 1
            else:
                listing = _read_some(m365, cached, changed, versions)
        _LISTINGS[store_key] = listing
        return listing


def forget(m365) -> None:
    """Drop the cached listing of `m365`'s store (the next use reads it all again)."""
    with _LOCK:
        _LISTINGS.pop(m365.store, None)


def _read_all(m365, versions: dict[str, str]) -> UserListing:
    frame = display(m365.users())
    return UserListing(frame=frame, key=search_key(frame), tenants=m365.tenants(),
                       versions=versions, reads=1)


def _read_some(m365, cached: UserListing, changed: set[str], versions: dict[str, str]) -> UserListing:
    tenants = m365.tenants()
    active = set(tenants["tenant_id"].astype(str))
    wanted = sorted(t for t in changed if t in active)
    fresh = display(m365.users(wanted)) if wanted else cached.frame.iloc[0:0]
    keep = ~cached.frame["tenant_id"].astype(str).isin(changed).to_numpy()
    frame = pd.concat([cached.frame[keep], fresh], ignore_index=True)
    key = pd.concat([cached.key[keep], search_key(fresh)], ignore_index=True)
    # The store lists users by tenant id, then sign-in name: keep that order.
    order = np.argsort(frame["tenant_id"].astype(str).to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    key = key.iloc[order].reset_index(drop=True)
    return UserListing(frame=frame, key=key, tenants=tenants, versions=versions,
                       reads=cached.reads + 1)
