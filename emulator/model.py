"""The directory of one tenant: users, groups, SKUs, role assignments, and change tracking.

Objects keep their Graph properties in a plain dict (`p`) so that `$select` is a dict lookup,
plus a few internal fields in `__slots__`. Each object caches its JSON per selected field set
(`render`), which makes listing 999 users a string join; any change goes through
`Tenant.touch`, which drops the cache and stamps the object with the tenant's next change
sequence number (what delta queries compare against).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from .schema import missing

_EMPTY: tuple = ()
if json.encoder.c_make_encoder is not None:
    # One reusable C encoder: json.dumps builds a new one per call, which costs more than
    # encoding a user's dozen properties.
    _c_encoder = json.encoder.c_make_encoder(None, None, json.encoder.encode_basestring, None,
                                             ":", ",", False, False, True)

    def _dumps(value) -> str:
        return "".join(_c_encoder(value, 0))
else:                                   # pragma: no cover - CPython always has the C encoder
    _dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
CACHE_KEYS = 6   # distinct $select sets remembered per object


def iso(when: datetime) -> str:
    """Graph's UTC timestamp text, e.g. 2024-05-01T10:00:00Z."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when.isoformat(timespec="seconds") + "Z"


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def days_ago(days: float) -> str:
    # time.gmtime/strftime: the cheapest route, and the demo world calls this ~4 times a user.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400.0))


def dumps(value) -> str:
    return _dumps(value)


class Obj:
    """A directory object: Graph properties, change sequence number, JSON cache."""

    __slots__ = ("p", "seq", "cache")

    def __init__(self, props: dict):
        self.p = props
        self.seq = 0
        self.cache = None

    @property
    def id(self) -> str:
        return self.p["id"]

    def render(self, fields: tuple, prefix: str = "") -> str:
        """JSON of the selected fields (with an optional leading member such as @odata.type)."""
        cache = self.cache
        if cache is None:
            cache = self.cache = {}
        key = (prefix, fields)
        text = cache.get(key)
        if text is None:
            p = self.p
            body = {f: p[f] if f in p else missing(f) for f in fields}
            text = _dumps(body)
            if prefix:
                text = "{" + prefix + ("," + text[1:] if len(text) > 2 else "}")
            if len(cache) >= CACHE_KEYS:
                cache.clear()
            cache[key] = text
        return text

    def project(self, fields: tuple) -> dict:
        p = self.p
        return {f: p[f] if f in p else missing(f) for f in fields}

    # Pickling: every slot but the cache, which is rebuilt on demand.
    def __getstate__(self):
        return {name: getattr(self, name) for cls in type(self).__mro__
                for name in getattr(cls, "__slots__", ()) if name != "cache"}

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)
        self.cache = None


class User(Obj):
    __slots__ = ("ordinal", "deleted", "password", "manager", "direct", "mailbox")

    def __init__(self, props: dict, ordinal: int):
        super().__init__(props)
        self.ordinal = ordinal
        self.deleted = None        # deletedDateTime while in the recycle bin
        self.password = None       # only a hash-like marker; never served
        self.manager = None        # manager's user id
        self.direct = {}           # skuId -> disabledPlans of directly assigned licenses
        self.mailbox = None        # mailboxSettings dict once written


class Group(Obj):
    __slots__ = ("ordinal", "members", "member_log", "members_seq", "owners", "apps", "licenses")

    def __init__(self, props: dict, ordinal: int):
        super().__init__(props)
        self.ordinal = ordinal
        self.members = {}          # member id -> "user" | "group" (insertion ordered)
        self.member_log = []       # (seq, member id, kind, added: bool) for members@delta
        self.members_seq = 0
        self.owners = []           # user ids
        self.apps = []             # appRoleAssignment dicts
        self.licenses = {}         # skuId -> disabledPlans (group-based licensing)

    @property
    def read_only_kind(self) -> bool:
        """Distribution lists and mail-enabled security groups: Exchange owns their members."""
        p = self.p
        return bool(p.get("mailEnabled")) and "Unified" not in (p.get("groupTypes") or _EMPTY)

    @property
    def dynamic(self) -> bool:
        p = self.p
        return bool(p.get("membershipRule")) or "DynamicMembership" in (p.get("groupTypes") or _EMPTY)


class Tenant:
    """One tenant's directory; all access happens on the server's IOLoop thread."""

    def __init__(self, info):
        self.info = info
        self.id = info.id
        self.seq = 0
        self.users: dict[str, User] = {}          # lower-case id -> user (deleted ones too)
        self.user_list: list[User] = []           # creation order; cursor of paging and delta
        self.upns: dict[str, User] = {}           # lower-case UPN -> live or deleted user
        self.groups: dict[str, Group] = {}
        self.group_list: list[Group] = []
        self.skus: dict[str, dict] = {}           # skuId -> subscribedSku (Graph shape)
        self.service_plans: dict[str, list] = {}  # skuId -> servicePlans of the SKU
        self.role_assignments: dict[str, dict] = {}
        self.org: dict = {}
        self.domains: list[dict] = []
        self.relationships: list[dict] = []       # GDAP (partner tenant only)
        self.contracts: list[dict] = []
        self.service_principals: dict[str, str] = {}   # app name -> service principal id
        self.exchange = None                      # emulator/exchange.py ExchangeState, lazily
        self.dirty = False

    # -- change tracking ------------------------------------------------------------------------
    def touch(self, obj: Obj) -> None:
        self.seq += 1
        obj.seq = self.seq
        obj.cache = None
        self.dirty = True

    def log_member(self, group: Group, member_id: str, kind: str, added: bool) -> None:
        self.seq += 1
        group.members_seq = self.seq
        group.member_log.append((self.seq, member_id, kind, added))
        self.dirty = True

    # -- lookups --------------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        self.users[user.id.lower()] = user
        self.user_list.append(user)
        self.upns[user.p["userPrincipalName"].lower()] = user

    def add_group(self, group: Group) -> None:
        self.groups[group.id.lower()] = group
        self.group_list.append(group)

    def live_user(self, key: str) -> User | None:
        """A user by object id or UPN, not in the recycle bin."""
        key = key.lower()
        user = self.users.get(key) or self.upns.get(key)
        return user if user is not None and user.deleted is None else None

    def group(self, key: str) -> Group | None:
        return self.groups.get(key.lower())

    def verified_domains(self) -> set[str]:
        return {d["id"].lower() for d in self.domains if d.get("isVerified")}

    def groups_of(self, user_id: str) -> list[Group]:
        key = user_id.lower()
        return [g for g in self.group_list if key in g.members]
