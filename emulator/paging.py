"""Collections the Graph way: `value` pages, `@odata.nextLink` with an opaque `$skiptoken`,
`@odata.count` on request, and a JSON body assembled from cached per-object JSON.

Unsorted listings page by a cursor into the tenant's creation-ordered list, so objects created
or deleted while a client pages never shift what it has yet to read; `$orderby` and `$search`
listings page by offset into the sorted result, as their order is computed per request.
"""
from __future__ import annotations

import base64
import json

from .errors import bad_request
from .model import dumps
from .odata import Query, order
from .router import Ctx, Reply

DEFAULT_TOP = 100


def encode_token(data) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return "X" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str):
    try:
        if not token.startswith("X"):
            raise ValueError(token)
        text = token[1:]
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The specified page token value has expired or is invalid.",
                          code="BadRequest") from None


def _cursor(q: Query) -> int:
    return cursor(q.skiptoken)


def cursor(skiptoken: str | None) -> int:
    if not skiptoken:
        return 0
    value = decode_token(skiptoken)
    if not isinstance(value, int) or value < 0:
        raise bad_request("The specified page token value has expired or is invalid.",
                          code="BadRequest")
    return value


def envelope(context: str, parts: list[str], *, next_link: str | None = None,
             count: int | None = None, delta_link: str | None = None) -> str:
    head = '{"@odata.context":' + dumps(context)
    if count is not None:
        head += ',"@odata.count":%d' % count
    if next_link:
        head += ',"@odata.nextLink":' + dumps(next_link)
    if delta_link:
        head += ',"@odata.deltaLink":' + dumps(delta_link)
    return head + ',"value":[' + ",".join(parts) + "]}"


def next_link(ctx: Ctx, token) -> str:
    params = {k: v for k, v in ctx.args.items() if k != "$skiptoken"}
    params["$skiptoken"] = encode_token(token)
    return ctx.link(ctx.path, params)


def list_objects(ctx: Ctx, objects: list, q: Query, fields: tuple, context: str, *,
                 live=None, prefix: str = "") -> Reply:
    """One page of directory objects (users, groups, members) with the query applied."""
    top = q.top or DEFAULT_TOP
    match, search = q.match, q.search
    count = None
    if q.orderby or search:
        items = [o for o in objects if (live is None or live(o))
                 and (match is None or match(o.p)) and (search is None or search(o.p))]
        if q.orderby:
            order(items, q.orderby)
        start = _cursor(q)
        chunk = items[start:start + top]
        more = start + top < len(items)
        token = start + top
        if q.count:
            count = len(items)
    else:
        start = _cursor(q)
        chunk, i, n = [], start, len(objects)
        while i < n and len(chunk) < top:
            o = objects[i]
            i += 1
            if (live is None or live(o)) and (match is None or match(o.p)):
                chunk.append(o)
        more = False
        for j in range(i, n):          # look ahead so the last page has no nextLink
            o = objects[j]
            if (live is None or live(o)) and (match is None or match(o.p)):
                more = True
                break
        token = i
        if q.count:
            count = sum(1 for o in objects if (live is None or live(o))
                        and (match is None or match(o.p)))
    parts = [o.render(fields, prefix) for o in chunk]
    link = next_link(ctx, token) if more else None
    return Reply(200, raw=envelope(context, parts, next_link=link, count=count))


def list_dicts(ctx: Ctx, rows: list[dict], q: Query, context: str, *,
               default_top: int = DEFAULT_TOP) -> Reply:
    """One page of plain dict resources (SKUs, role assignments, sign-ins...)."""
    if q.match is not None:
        rows = [r for r in rows if q.match(r)]
    if q.orderby:
        rows = order(list(rows), q.orderby, props=lambda r: r)
    top = q.top or default_top
    start = _cursor(q)
    chunk = rows[start:start + top]
    parts = []
    for row in chunk:
        shown = row
        if q.select:
            shown = {k: row.get(k) for k in q.select}
            if "@odata.type" in row:                # typed collections keep the type tag
                shown = {"@odata.type": row["@odata.type"], **shown}
        parts.append(dumps(shown))
    link = next_link(ctx, start + top) if start + top < len(rows) else None
    return Reply(200, raw=envelope(context, parts, next_link=link,
                                   count=len(rows) if q.count else None))


def list_parts(ctx: Ctx, parts: list[str], top: int, context: str) -> Reply:
    """One page of already rendered JSON objects (small mixed lists such as memberOf)."""
    start = cursor(ctx.args.get("$skiptoken"))
    link = next_link(ctx, start + top) if start + top < len(parts) else None
    return Reply(200, raw=envelope(context, parts[start:start + top], next_link=link))


def entity(context: str, text: str) -> Reply:
    """A single object: its JSON with @odata.context in front."""
    head = '{"@odata.context":' + dumps(context)
    return Reply(200, raw=head + ("," + text[1:] if len(text) > 2 else "}"))
