"""OData query options as Graph's directory accepts them: $select, $top, $filter, $orderby,
$search and $count, with the advanced-query rules (`ConsistencyLevel: eventual`).

`parse_query` validates the options against a resource `Kind` and returns a `Query` whose
`match` is a compiled predicate over an object's property dict; every refusal is the 400 that
Graph answers for it.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .errors import GraphFault, bad_request, unknown_property, unsupported
from .schema import COLLECTIONS, Kind

MSG_SEARCH = ("Request with $search query parameter only works through MSGraph with a special "
              "request header: 'ConsistencyLevel: eventual'")
MSG_COUNT = "$count is not currently supported."
MSG_SORT = "Sorting not supported for current query."
_ADVANCED_MSG = {"ne": "Unsupported property filter clause operator 'NotEqualsMatch'."}

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|([(),])|([^\s(),']+))")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
_COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")


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


# -- $filter ----------------------------------------------------------------------------------

def _to_time(value):
    if value is None:
        return None
    text = str(value)
    if len(text) == 10:
        text += "T00:00:00Z"
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


class FilterParser:
    """Recursive descent over Graph's $filter subset; compiles to predicates on a dict."""

    def __init__(self, text: str, kind: Kind, flags: set):
        self.text, self.kind, self.flags = text, kind, flags
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _error(self, what: str) -> GraphFault:
        return bad_request(f"Invalid filter clause: {what}", code="BadRequest")

    def _tokenize(self, text: str) -> list:
        out, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if not text[pos:].strip():
                    break
                raise self._error(f"syntax error at position {pos} in '{text}'.")
            pos = m.end()
            if m.group(1) is not None:
                out.append(("lit", m.group(1)[1:-1].replace("''", "'")))
            elif m.group(2):
                out.append(("punct", m.group(2)))
            else:
                out.append(("word", m.group(3)))
        return out

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _next(self):
        tok = self._peek()
        if tok[0] is None:
            raise self._error(f"unexpected end of '{self.text}'.")
        self.pos += 1
        return tok

    def _expect(self, punct: str) -> None:
        kind, value = self._next()
        if kind != "punct" or value != punct:
            raise self._error(f"expected '{punct}' in '{self.text}'.")

    def _is_word(self, word: str) -> bool:
        kind, value = self._peek()
        return kind == "word" and value.lower() == word

    def parse(self):
        pred = self._or()
        if self.pos != len(self.tokens):
            raise self._error(f"unexpected '{self.tokens[self.pos][1]}' in '{self.text}'.")
        return pred

    def _or(self):
        left = self._and()
        while self._is_word("or"):
            self.pos += 1
            right = self._and()
            left = (lambda a, b: lambda p: a(p) or b(p))(left, right)
        return left

    def _and(self):
        left = self._unary()
        while self._is_word("and"):
            self.pos += 1
            right = self._unary()
            left = (lambda a, b: lambda p: a(p) and b(p))(left, right)
        return left

    def _unary(self):
        if self._is_word("not"):
            self.pos += 1
            self.flags.add("not")
            inner = self._unary()
            return lambda p: not inner(p)
        return self._primary()

    def _literal(self):
        kind, value = self._next()
        if kind == "lit":
            return value
        if kind != "word":
            raise self._error(f"expected a value in '{self.text}'.")
        low = value.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if _NUMBER.match(value):
            return float(value) if "." in value else int(value)
        if _GUID.match(value) or _DATE.match(value):
            return value
        raise self._error(f"'{value}' is not a valid value in '{self.text}'.")

    def _field(self, name: str) -> tuple[str, str]:
        found = self.kind.filterable.get(name.lower())
        if found is None:
            label = self.kind.name[0].upper() + self.kind.name[1:]
            raise unsupported(f"Unsupported or invalid query filter clause specified for property "
                              f"'{name}' of resource '{label}'.")
        return found

    def _primary(self):
        kind, value = self._next()
        if kind == "punct" and value == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if kind != "word":
            raise self._error(f"unexpected '{value}' in '{self.text}'.")
        low = value.lower()
        if self._peek() == ("punct", "("):
            if low in ("startswith", "endswith"):
                return self._function(low)
            if low.endswith("/any") or low.endswith("/all"):
                return self._lambda(value[:-4], low[-3:])
            raise unsupported(f"Unsupported function '{value}' in $filter.")
        if low.endswith("/$count"):
            return self._collection_count(value[:-7])
        return self._comparison(value)

    def _function(self, name: str):
        self._expect("(")
        kind, prop = self._next()
        if kind != "word":
            raise self._error(f"expected a property name in '{self.text}'.")
        field, ftype = self._field(prop)
        self._expect(",")
        value = self._literal()
        self._expect(")")
        if not isinstance(value, str):
            raise self._error(f"{name} needs a string value.")
        if name == "endswith":
            self.flags.add("endswith")
        v = value.lower()
        if ftype == "strs":
            test = (lambda s: s.lower().startswith(v)) if name == "startswith" else \
                (lambda s: s.lower().endswith(v))
            return lambda p: any(test(s) for s in p.get(field) or ())
        if name == "startswith":
            return lambda p: (p.get(field) or "").lower().startswith(v)
        return lambda p: (p.get(field) or "").lower().endswith(v)

    def _lambda(self, prop: str, quantifier: str):
        field, ftype = self._field(prop)
        if ftype not in ("strs", "skus"):
            raise unsupported(f"'{prop}' is not a collection.")
        self._expect("(")
        kind, head = self._next()
        if kind != "word" or ":" not in head:
            raise self._error(f"expected a lambda such as x:x eq 'value' in '{self.text}'.")
        var, path = head.split(":", 1)
        sub = path[len(var) + 1:] if path.lower().startswith(var.lower() + "/") else ""
        op = self._next()[1].lower()
        if op not in ("eq", "ne", "in"):
            raise unsupported(f"Unsupported operator '{op}' inside {quantifier}().")
        if op == "in":
            values = self._value_list()
        else:
            values = [self._literal()]
        self._expect(")")
        wanted = {str(v).lower() for v in values}
        if op == "ne":
            self.flags.add("ne")
        if ftype == "skus" or sub:
            key = sub or "skuId"
            item_test = lambda item: str((item or {}).get(key, "")).lower() in wanted  # noqa: E731
        else:
            item_test = lambda item: str(item).lower() in wanted  # noqa: E731
        if op == "ne":
            base_test = item_test
            item_test = lambda item: not base_test(item)  # noqa: E731
        if quantifier == "all":
            return lambda p: all(item_test(i) for i in p.get(field) or ())
        return lambda p: any(item_test(i) for i in p.get(field) or ())

    def _collection_count(self, prop: str):
        field, ftype = self._field(prop)
        self.flags.add("count")
        op = self._next()[1].lower()
        value = self._literal()
        if op not in _COMPARE or not isinstance(value, int):
            raise self._error(f"/$count needs a comparison with a number in '{self.text}'.")
        return _compare(lambda p: len(p.get(field) or ()), op, value)

    def _value_list(self) -> list:
        self._expect("(")
        values = [self._literal()]
        while self._peek() == ("punct", ","):
            self.pos += 1
            values.append(self._literal())
        self._expect(")")
        return values

    def _comparison(self, prop: str):
        field, ftype = self._field(prop)
        kind, op = self._next()
        op = (op or "").lower()
        if op == "in":
            values = {str(v).lower() if isinstance(v, str) else v for v in self._value_list()}
            return lambda p: _norm(p.get(field)) in values
        if op not in _COMPARE:
            raise self._error(f"unknown operator '{op}' in '{self.text}'.")
        value = self._literal()
        if op == "ne":
            self.flags.add("ne")
        if value is None:
            self.flags.add("null")
            present = lambda p: p.get(field) not in (None, "", [])  # noqa: E731
            return (lambda p: not present(p)) if op == "eq" else present
        if ftype in ("strs", "skus"):
            raise unsupported(f"Unsupported or invalid query filter clause specified for property "
                              f"'{field}' of resource '{self.kind.name.capitalize()}'.")
        if ftype == "date":
            wanted = _to_time(value)
            if wanted is None:
                raise self._error(f"'{value}' is not a date and time.")
            return _compare(lambda p: _to_time(p.get(field)), op, wanted)
        if ftype == "bool":
            if not isinstance(value, bool):
                raise self._error(f"'{field}' needs true or false.")
            return _compare(lambda p: bool(p.get(field)), op, value)
        wanted = _norm(value)
        return _compare(lambda p: _norm(p.get(field)), op, wanted)


def _norm(value):
    return value.lower() if isinstance(value, str) else value


def _compare(get, op: str, wanted):
    if op == "eq":
        return lambda p: get(p) == wanted
    if op == "ne":
        return lambda p: get(p) != wanted

    def ordered(p, cmp={"gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
                        "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}[op]):
        value = get(p)
        return value is not None and cmp(value, wanted)
    return ordered
