"""Per-tenant offboarding defaults: which toggles start on, and the auto-reply text.

An MSP offboards every leaver of a client the same way ("always block, revoke and remove
licenses at Contoso"); the defaults say so once per tenant. They are read by the Offboard page
to set its toggles and saved there by admins ("save as this tenant's defaults"), or through
`m365.offboarding_defaults(tenant)` / `m365.set_offboarding_defaults(tenant, ...)`.

The toggles are the names in services.workflows.offboarding.OPTIONS, looked up when called (the
tuple grows with new steps; a copy here would fall behind). The auto-reply text may hold
`{display_name}` (the leaver) and `{manager}` (the leaver's manager's display name), filled in per
user by `render_auto_reply`; any other placeholder is refused when saved.
"""
from __future__ import annotations

import json
import string
from datetime import datetime, timezone

from .store import offboarding_defaults as store
from .workflows import offboarding as _offboarding

PLACEHOLDERS = ("display_name", "manager")
_UNCHANGED = object()


def _options() -> tuple[str, ...]:
    return tuple(_offboarding.OPTIONS)


def check_message(text: str | None) -> str | None:
    """The text to store (None: no auto-reply text), or ValueError naming what is wrong."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"auto_reply_message must be text or None, not {type(text).__name__}")
    if not text.strip():
        return None
    from .workflows import offboarding_steps     # the auto-reply step's own limit, when called
    limit = getattr(offboarding_steps, "AUTO_REPLY_LIMIT", None)
    if limit and len(text) > limit:
        raise ValueError(f"auto_reply_message is {len(text):,} characters; automatic replies "
                         f"take at most {limit:,}")
    try:
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:       # a lone "{" or "}"
        raise ValueError(f"auto_reply_message: {exc}; write a literal brace as {{{{ or }}}}") from None
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for name in fields:
        if name not in PLACEHOLDERS:
            shown = "{" + name + "}" if name else "{}"
            raise ValueError(f"auto_reply_message: unknown placeholder {shown}; the text may use "
                             f"{allowed} (write a literal brace as {{{{ or }}}})")
    return text


def render_auto_reply(text: str, *, display_name: str, manager: str | None) -> str:
    """The auto-reply for one leaver. ValueError when the text names {manager} and the user
    has none (say who to contact instead, or set the manager first)."""
    text = check_message(text) or ""
    names = {f for _l, f, _s, _c in string.Formatter().parse(text) if f}
    if "manager" in names and not manager:
        raise ValueError(f"the auto-reply text names {{manager}} but {display_name} has no "
                         "manager; set one, or change the text")
    return text.format(display_name=display_name, manager=manager or "")


def _result(tenant_id: str, row: dict | None) -> dict:
    stored = json.loads(row["options"]) if row else {}
    updated = row["updated"] if row else None
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=timezone.utc)      # SQLite returns naive UTC
    # Options stored before a toggle existed start off; ones no longer offered are left out.
    return {"tenant_id": tenant_id,
            "options": {name: bool(stored.get(name, False)) for name in _options()},
            "auto_reply_message": row["auto_reply_message"] if row else None,
            "updated": updated, "updated_by": row["updated_by"] if row else None}


def read(m365, tenant) -> dict:
    tenant_id = m365.resolve_tenant(tenant)
    return _result(tenant_id, store.read_row(m365.store.engine, tenant_id))


def save(m365, tenant, options: dict, auto_reply_message=_UNCHANGED) -> dict:
    tenant_id = m365.resolve_tenant(tenant)
    asked = {"options": dict(options)}
    if auto_reply_message is not _UNCHANGED:
        asked["auto_reply_message"] = auto_reply_message
    m365.require_role("offboard", action="offboarding_defaults", tenant_id=tenant_id,
                      detail=asked)
    known = _options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown offboarding options {unknown}; known: {', '.join(known)}")
    not_bool = sorted(k for k, v in options.items() if not isinstance(v, bool))
    if not_bool:
        raise ValueError(f"offboarding defaults are True or False; {', '.join(not_bool)} "
                         "is not")
    current = _result(tenant_id, store.read_row(m365.store.engine, tenant_id))
    message = (current["auto_reply_message"] if auto_reply_message is _UNCHANGED
               else check_message(auto_reply_message))
    merged = {**current["options"], **options}
    detail = {"options": merged, "auto_reply_message": message}
    store.save_row(m365.store.engine, tenant_id, options=json.dumps(merged, sort_keys=True),
                   auto_reply_message=message, updated=datetime.now(timezone.utc),
                   updated_by=m365.actor.name)
    m365.audit(action="offboarding_defaults", outcome="done", tenant_id=tenant_id,
               detail={**detail, "before": {"options": current["options"],
                                            "auto_reply_message": current["auto_reply_message"]}})
    return read(m365, tenant_id)


class OffboardingDefaultsMixin:
    """Methods of the `M365` object (needs resolve_tenant, store, actor, require_role, audit)."""

    def offboarding_defaults(self, tenant) -> dict:
        """The tenant's offboarding defaults: {"tenant_id", "options": {option: bool for every
        offboarding option}, "auto_reply_message": text or None, "updated": UTC datetime or
        None, "updated_by": name or None}. A tenant never saved has every option off."""
        return read(self, tenant)

    def set_offboarding_defaults(self, tenant, *, auto_reply_message=_UNCHANGED,
                                 **options: bool) -> dict:
        """Save the tenant's defaults (admins; audited) and return them as
        offboarding_defaults() does. Options not given keep their saved value; leave out
        auto_reply_message to keep the saved text, None (or "") to clear it. It may use
        {display_name} and {manager}; any other placeholder is a ValueError, as is an unknown
        option or a value that is not True/False. Nothing is saved on any error."""
        return save(self, tenant, options, auto_reply_message)
