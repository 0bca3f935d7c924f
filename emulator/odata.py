"""OData query options as Graph's directory accepts them: $select, $top, $filter, $orderby,
$search and $count, with the advanced-query rules (`ConsistencyLevel: eventual`).

`parse_query` validates the options against a resource `Kind` and returns a `Query` whose
`match` is a compiled predicate over an object's property dict; every refusal is the 400 that
Graph answers for it.
"""
from __future__ import annotations

import re

from .errors import bad_request, unknown_property, unsupported
from .filters import FilterParser
from .schema import COLLECTIONS, Kind

MSG_SEARCH = ("Request with $search query parameter only works through MSGraph with a special "
              "request header: 'ConsistencyLevel: eventual'")
MSG_COUNT = "$count is not currently supported."
MSG_SORT = "Sorting not supported for current query."
_ADVANCED_MSG = {"ne": "Unsupported property filter clause operator 'NotEqualsMatch'."}


class Query:
    __slots__ = ("select", "top", "match", "orderby", "search", "count", "skiptoken")

    def __init__(self):
        self.select = None      # tuple of canonical names, or None for the default set
        self.top = None         # int or None (the resource's default page)
        self.match = None       # predicate over a property dict, or None
        self.orderby = []       # [(name, descending)]
        self.search = None      # predicate or None
        self.count = False
        self.skiptoken = None


def fragment(base: str, select) -> str:
    """An @odata.context fragment with the $select list, as Graph writes it on every resource:
    `users(id,displayName)`, `organization(id)`, `directoryObjects(id,displayName)`."""
    return f"{base}({','.join(select)})" if select else base


def option(args: dict, name: str):
    """A query option by name, case-insensitively ($select, $Select...)."""
    return args.get(name.lower())


def parse_query(args: dict, eventual: bool, kind: Kind, *, max_top: int = 999,
                allow=("$select", "$top", "$filter", "$orderby", "$search", "$count",
                       "$skiptoken")) -> Query:
    q = Query()
    for key in args:
        if key.startswith("$") and key not in allow and key != "$skiptoken":
            raise bad_request(f"Query option '{key}' is not allowed for this resource.",
                              code="BadRequest")
    q.select = parse_select(option(args, "$select"), kind)
    top = option(args, "$top")
    if top is not None:
        if not top.strip().isdigit():
            raise bad_request(f"Invalid value '{top}' for query option $top.", code="BadRequest")
        q.top = int(top)
        if not 1 <= q.top <= max_top:
            raise unsupported(f"Invalid page size specified: '{q.top}'. Must be between 1 and "
                              f"{max_top} inclusive.")
    count = (option(args, "$count") or "").lower()
    if count not in ("", "true", "false"):
        raise bad_request(f"Invalid value '{count}' for query option $count.", code="BadRequest")
    q.count = count == "true"
    flags: set[str] = set()
    text = option(args, "$filter")
    if text:
        q.match = FilterParser(text, kind, flags).parse()
    if option(args, "$orderby"):
        q.orderby = parse_orderby(option(args, "$orderby"), kind)
    if option(args, "$search"):
        q.search = parse_search(option(args, "$search"), kind)
    q.skiptoken = option(args, "$skiptoken")
    if kind.directory:
        _advanced_rules(q, flags, eventual, kind, bool(text))
    return q


def _advanced_rules(q: Query, flags: set, eventual: bool, kind: Kind, filtered: bool) -> None:
    advanced = eventual and q.count
    if flags and not advanced:
        first = sorted(flags)[0]
        raise unsupported(_ADVANCED_MSG.get(first, "Unsupported Query."))
    if q.orderby and not advanced and not (q.search and eventual):
        if filtered or any(name not in kind.orderby_simple for name, _ in q.orderby):
            raise unsupported(MSG_SORT)
    if q.search and not eventual:
        raise unsupported(MSG_SEARCH)
    if q.count and not eventual:
        raise bad_request(MSG_COUNT)


def parse_select(text: str | None, kind: Kind) -> tuple | None:
    if not text:
        return None
    out = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        canonical = kind.names.get(name.lower())
        if canonical is None:
            raise unknown_property(name, kind.name)
        if canonical not in out:
            out.append(canonical)
    return tuple(out) or None


def parse_orderby(text: str, kind: Kind) -> list:
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise bad_request(f"Invalid $orderby clause '{part.strip()}'.", code="BadRequest")
        canonical = kind.names.get(words[0].lower())
        if canonical is None:
            raise unknown_property(words[0], kind.name)
        if canonical in COLLECTIONS:
            raise unsupported(MSG_SORT)
        out.append((canonical, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_key(name: str):
    def key(props):
        value = props.get(name)
        if isinstance(value, str):
            value = value.lower()
        return (value is None, value if value is not None else "")
    return key


def order(items: list, orderby: list, props=lambda o: o.p) -> list:
    """Sort objects by several keys; stable sorts applied from the last key to the first."""
    for name, desc in reversed(orderby):
        key = sort_key(name)
        items.sort(key=lambda o: key(props(o)), reverse=desc)
    return items


# -- $search ----------------------------------------------------------------------------------

_SEARCH_CLAUSE = re.compile(r'\s*"([^"]*)"\s*(?:(AND|OR)\b)?', re.IGNORECASE)


def parse_search(text: str, kind: Kind):
    pos, clauses, joins = 0, [], []
    text = text.strip()
    while pos < len(text):
        m = _SEARCH_CLAUSE.match(text, pos)
        if not m or m.end() == pos:
            raise bad_request("Syntax error: each $search clause must be enclosed in double quotes, "
                              "e.g. $search=\"displayName:wa\".", code="BadRequest")
        clauses.append(_search_clause(m.group(1), kind))
        joins.append((m.group(2) or "").upper())
        pos = m.end()
    if not clauses:
        raise bad_request("The $search query option is empty.", code="BadRequest")

    def match(props, clauses=clauses, joins=joins):
        result = clauses[0](props)
        for clause, join in zip(clauses[1:], joins):
            result = (result or clause(props)) if join == "OR" else (result and clause(props))
        return result
    return match


def _search_clause(text: str, kind: Kind):
    if ":" in text:
        name, term = text.split(":", 1)
        canonical = kind.names.get(name.strip().lower())
        if canonical is None or canonical not in kind.searchable:
            raise unsupported(f"Unsupported property '{name.strip()}' in $search.")
        fields = (canonical,)
    else:
        fields, term = ("displayName", "mail", "userPrincipalName"), text
    pattern = re.compile(r"(?:^|[\s\-_.@])" + re.escape(term.strip()), re.IGNORECASE)
    return lambda props: any(pattern.search(props.get(f) or "") for f in fields)
