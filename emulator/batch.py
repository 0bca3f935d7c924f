"""JSON batching: `POST /$batch` with up to 20 requests, run like separate Graph calls.

The payload is checked as a whole first (at most 20 requests, unique ids compared
case-insensitively, a Content-Type for every body, known dependsOn ids): any violation is a
400 for the entire batch. Then each request runs in dependency order, each with its own fault
roll (an inner 429 carries its own Retry-After); a request whose dependency failed answers 424.
Responses come back in a shuffled order, as Graph promises no order.
"""
from __future__ import annotations

import random
from urllib.parse import urlsplit

from .errors import GraphFault
from .model import dumps
from .router import Reply

LIMIT = 20
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def _bad(message: str) -> GraphFault:
    return GraphFault(400, "BadRequest", message)


def validate(payload) -> list[dict]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format: a 'requests' array is required.")
    items = payload["requests"]
    if not items:
        raise _bad("Invalid batch payload format: the 'requests' array is empty.")
    if len(items) > LIMIT:
        raise _bad(f"Number of requests in the batch ({len(items)}) exceeds the limit of {LIMIT}.")
    seen: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not all(item.get(k) for k in ("id", "method", "url")):
            raise _bad("Invalid batch payload format: every request needs id, method and url.")
        rid = str(item["id"])
        if rid.lower() in seen:
            raise _bad(f"Request Id {rid} has to be unique in a batch.")
        seen[rid.lower()] = rid
        headers = {str(k).lower(): v for k, v in (item.get("headers") or {}).items()}
        if item.get("body") is not None and "content-type" not in headers:
            raise _bad(f"Content-Type header is required for request {rid}: it has a body.")
    for item in items:
        for dep in item.get("dependsOn") or ():
            if str(dep).lower() not in seen or str(dep).lower() == str(item["id"]).lower():
                raise _bad(f"Request {item['id']} depends on unknown request id {dep}.")
    return items


def _order(items: list[dict]) -> list[dict]:
    """Dependencies first; a cycle is refused like an unknown dependency."""
    by_id = {str(i["id"]).lower(): i for i in items}
    done, out, visiting = set(), [], set()

    def visit(item):
        key = str(item["id"]).lower()
        if key in done:
            return
        if key in visiting:
            raise _bad(f"Request {item['id']} has a circular dependsOn.")
        visiting.add(key)
        for dep in item.get("dependsOn") or ():
            visit(by_id[str(dep).lower()])
        visiting.discard(key)
        done.add(key)
        out.append(item)
    for item in items:
        visit(item)
    return out


def run(server, tenant, payload, request_id: str, execute) -> tuple[Reply, bool]:
    """Answer a batch; `execute(method, path, query, headers, body) -> (Reply, wrote)`."""
    items = validate(payload)
    ordered = _order(items)
    server.stats.add("batches")
    server.stats.add("batch_requests", len(items))
    status: dict[str, int] = {}
    answers: list[str] = []
    wrote_any = False
    for item in ordered:
        rid = str(item["id"])
        failed = [d for d in item.get("dependsOn") or () if status.get(str(d).lower(), 200) >= 400]
        if failed:
            reply = Reply(424, GraphFault(424, "FailedDependency",
                                          f"Request {rid} was not run: its dependency {failed[0]} "
                                          "failed.").body(request_id))
        else:
            reply, wrote = _one(server, item, request_id, execute)
            wrote_any = wrote_any or wrote
        status[rid.lower()] = reply.status
        answers.append(_answer(rid, reply))
    random.Random(request_id).shuffle(answers)
    text = '{"responses":[' + ",".join(answers) + "]}"
    return Reply(200, raw=text), wrote_any


def _one(server, item: dict, request_id: str, execute) -> tuple[Reply, bool]:
    method = str(item["method"]).upper()
    url = str(item["url"])
    if "://" in url:
        return Reply(400, _bad("The request URL of a batch item must be relative to the "
                               "service root, e.g. /users.").body(request_id)), False
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    if path.lower() == "$batch":
        return Reply(400, _bad("A batch cannot contain another batch.").body(request_id)), False
    injected = server.faults.roll()
    if injected is not None:
        server.stats.add("throttled" if injected.status == 429 else "errors")
        return Reply(injected.status, injected.body(request_id), headers=dict(injected.headers)), False
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    body = item.get("body")
    raw = None if body is None else (body.encode() if isinstance(body, str) else dumps(body).encode())
    return execute(method, path, parts.query, headers, raw)


def _answer(rid: str, reply: Reply) -> str:
    headers = dict(reply.headers)
    text = reply.text()
    if text is not None:
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    if text is not None and not headers["Content-Type"].startswith("application/json"):
        text = dumps(text)            # a text/plain body travels as a JSON string
    out = '{"id":' + dumps(rid) + ',"status":%d,"headers":' % reply.status + dumps(headers)
    if text is not None:
        out += ',"body":' + text
    return out + "}"
