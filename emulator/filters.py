"""$filter as Graph's directory understands it, compiled to predicates over property dicts.

Supported: eq, ne, gt/ge/lt/le, in, and/or/not, parentheses, startswith/endswith, `any`/`all`
lambdas over collections (`assignedLicenses/any(x:x/skuId eq <guid>)`,
`groupTypes/any(c:c eq 'Unified')`) and `/$count`. Operators that Graph only allows as advanced
queries (ne, not, endswith, /$count, eq null) are reported in `flags` for the caller to check.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .errors import GraphFault, bad_request, unsupported
from .schema import Kind

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|([(),])|([^\s(),']+))")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
_COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")


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
