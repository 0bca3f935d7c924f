"""The one choke point for every Microsoft Graph request.

`Graph` owns the pooled HTTP session and the token provider for all tenants; `graph.tenant(id)`
gives a `TenantGraph` whose `request()` is the only function in the project that sends a Graph
request. It retries throttling (429, honouring fractional Retry-After), 503/504 and dropped
connections with capped exponential backoff and jitter inside a per-call deadline, renews the
token once on a 401, waits out replication lag on users it just created (replication.py), and
counts every HTTP request per tenant.
"""
from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from .app_tokens import TokenProvider
from .config import GraphSettings
from .errors import AmbiguousWrite, GraphError, Throttled, Transient, from_graph_body
from .replication import FreshUsers, lag_wait

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 503, 504}
BATCH_LIMIT = 20
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


class GraphSession(requests.Session):
    """A pooled session that always verifies against the configured CA bundle.

    `REQUESTS_CA_BUNDLE` in the environment overrides `Session.verify`, so the bundle is passed
    on every request instead; msal gets this same session, so token calls trust it too.
    """

    def __init__(self, ca_file=None, pool_size: int = 32):
        super().__init__()
        self._ca = str(ca_file) if ca_file else None
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method, url, **kwargs):  # noqa: D401 - requests' signature
        if self._ca and kwargs.get("verify") in (None, True):
            kwargs["verify"] = self._ca
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, **kwargs)


@dataclass
class RequestStats:
    """HTTP requests per tenant (every attempt, retries included) and retry causes."""

    requests: Counter = field(default_factory=Counter)
    throttled: Counter = field(default_factory=Counter)
    retried: Counter = field(default_factory=Counter)
    lagged: Counter = field(default_factory=Counter)    # re-sent for replication lag
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, tenant_id: str, counter: str = "requests", n: int = 1) -> None:
        with self.lock:
            getattr(self, counter)[tenant_id] += n

    def total(self, counter: str = "requests") -> int:
        with self.lock:
            return sum(getattr(self, counter).values())


@dataclass
class BatchResponse:
    id: str
    status: int
    headers: dict
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self, tenant_id=None, method=None, url=None) -> GraphError | None:
        if self.ok:
            return None
        return from_graph_body(self.status, self.body if isinstance(self.body, dict) else {},
                               request_id=(self.headers or {}).get("request-id"),
                               method=method, url=url, tenant_id=tenant_id)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (fractional seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class Graph:
    """Multi-tenant entry point: one HTTP session and token provider shared by all tenants."""

    def __init__(self, settings: GraphSettings, *, session: requests.Session | None = None,
                 sleep=time.sleep, rng: random.Random | None = None):
        self.settings = settings
        self.session = session or GraphSession(settings.ca_file, settings.max_connections)
        self.tokens = TokenProvider(settings, self.session)
        self.stats = RequestStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._tenants: dict[str, TenantGraph] = {}
        self._lock = threading.Lock()

    def tenant(self, tenant_id: str) -> "TenantGraph":
        with self._lock:
            client = self._tenants.get(tenant_id)
            if client is None:
                client = self._tenants[tenant_id] = TenantGraph(self, tenant_id)
            return client

    def close(self) -> None:
        self.session.close()


class TenantGraph:
    """Graph calls for one tenant, authenticated with that tenant's own token."""

    def __init__(self, hub: Graph, tenant_id: str):
        self.hub = hub
        self.tenant_id = tenant_id
        self.base = hub.settings.graph_url.rstrip("/")
        # Users this client just created: a 404 on them is replication lag (replication.py).
        self.fresh = FreshUsers()

    @property
    def request_count(self) -> int:
        return self.hub.stats.requests[self.tenant_id]

    def url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return f"{self.base}/{path.lstrip('/')}"

    def _backoff(self, attempt: int) -> float:
        return self.hub._rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt)))

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                headers: dict | None = None, eventual: bool = False, deadline: float | None = None,
                retry_unsafe: bool = True, scope: str | None = None,
                parse_error=from_graph_body) -> Any:
        """Send one Graph request with retries; returns the parsed JSON body (None for 204).

        `retry_unsafe=False` stops a POST from being re-sent after a dropped connection, when the
        write may already have happened: the caller then checks for the object instead.
        `scope` and `parse_error` let another Microsoft API of the same tenant (Exchange Online,
        services/exchange.py) go through this one choke point: its token audience and its error
        body; retries, throttling, token renewal and counting stay the same.
        """
        hub = self.hub
        url = self.url(path)
        method = method.upper()
        hdrs = {"Accept": "application/json"}
        if headers:
            hdrs.update(headers)
        if eventual:
            hdrs["ConsistencyLevel"] = "eventual"
        started = time.monotonic()
        limit = started + (deadline or hub.settings.call_deadline)
        renewed = False
        attempt, lag_tries, lag_spent = 0, 0, 0.0
        while True:
            token = (hub.tokens.token(self.tenant_id) if scope is None
                     else hub.tokens.token(self.tenant_id, scope))
            hdrs["Authorization"] = f"Bearer {token}"
            hub.stats.add(self.tenant_id)
            wait = None
            try:
                resp = hub.session.request(method, url, params=params, json=json, headers=hdrs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if method == "POST" and not retry_unsafe:
                    raise AmbiguousWrite(f"connection lost before Graph answered ({type(exc).__name__}); "
                                         "the write may or may not have been applied",
                                         method=method, url=_loggable(url), tenant_id=self.tenant_id,
                                         code="connectionLost") from None
                failure = Transient(f"connection failed: {type(exc).__name__}", method=method,
                                    url=_loggable(url), tenant_id=self.tenant_id,
                                    code="connectionFailed")
                status = None
            else:
                status = resp.status_code
                if status < 400:
                    log.debug("%s %s -> %s", method, _loggable(url), status)
                    if status == 204 or not resp.content:
                        return None
                    # orjson: parsing is a full sync's largest client cost after row building
                    # (about 1.7 MB of JSON per 1,000-user tenant); it parses twice as fast as
                    # `json`, into the same Python values.
                    result = orjson.loads(resp.content)
                    self.fresh.saw_create(method, path, result)
                    return result
                failure = parse_error(status, _json_or_empty(resp),
                                          request_id=resp.headers.get("request-id"),
                                          method=method, url=_loggable(url),
                                          tenant_id=self.tenant_id)
                if status == 401 and not renewed:
                    renewed = True
                    hub.tokens.invalidate(self.tenant_id, token)
                    log.info("401 from Graph for tenant %s: renewing the token once", self.tenant_id)
                    continue
                lag = lag_wait(lag_tries, lag_spent, hub._rng) if self.fresh.lagging(
                    status, failure.code, method, url, json) else None
                if lag is not None:
                    lag_tries, lag_spent = lag_tries + 1, lag_spent + lag
                    hub.stats.add(self.tenant_id, "lagged")
                    log.info("new user not replicated yet: %s %s again in %.2fs", method,
                             _loggable(url), lag)
                    hub._sleep(lag)
                    continue
                if status not in RETRY_STATUSES:
                    raise failure
                if status == 429:
                    hub.stats.add(self.tenant_id, "throttled")
                    failure = Throttled(failure.graph_message, status=429, code=failure.code,
                                        request_id=failure.request_id, method=method,
                                        url=failure.url, tenant_id=self.tenant_id)
                wait = parse_retry_after(resp.headers.get("Retry-After"))
            if wait is None:
                wait = self._backoff(attempt)
            attempt += 1
            if attempt > hub.settings.max_retries or time.monotonic() + wait > limit:
                log.warning("giving up on %s %s after %d attempts: %s", method, _loggable(url),
                            attempt, failure)
                raise failure
            hub.stats.add(self.tenant_id, "retried")
            log.info("retrying %s %s in %.2fs (status %s)", method, _loggable(url), wait, status)
            hub._sleep(wait)

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def pages(self, path: str, *, params: dict | None = None, eventual: bool = False,
              headers: dict | None = None) -> "Pager":
        return Pager(self, path, params=params, eventual=eventual, headers=headers)

    def count(self, path: str, *, filter: str | None = None) -> int:
        params = {"$count": "true", "$top": "1"}
        if filter:
            params["$filter"] = filter
        body = self.request("GET", path, params=params, eventual=True)
        return int(body.get("@odata.count", 0))

    def batch(self, requests_: Iterable[dict], *, deadline: float | None = None) -> list[BatchResponse]:
        """Run requests through `$batch`, 20 at a time, and return their answers in order.

        Requests that depend on one another stay in the same batch. Inner requests answered
        429/503/504 are re-sent alone after the longest Retry-After among them, and so are
        those refused by replication lag on a user just created (services/replication.py).
        """
        items = []
        for i, req in enumerate(requests_):
            item = dict(req)
            item.setdefault("id", str(i + 1))
            if "body" in item:
                item.setdefault("headers", {}).setdefault("Content-Type", "application/json")
            items.append(item)
        results: dict[str, BatchResponse] = {}
        for chunk in _chunks_keeping_dependencies(items):
            results.update(self._run_batch(chunk, deadline))
        return [results[item["id"]] for item in items]

    def _run_batch(self, chunk: list[dict], deadline: float | None) -> dict[str, BatchResponse]:
        done: dict[str, BatchResponse] = {}
        pending = chunk
        limit = time.monotonic() + (deadline or self.hub.settings.call_deadline)
        attempt, lag_tries, lag_spent = 0, 0, 0.0
        sent = {item["id"]: item for item in chunk}
        while pending:
            body = self.request("POST", "$batch", json={"requests": pending}, deadline=deadline)
            retry, waits, lagging = [], [], []
            lag = lag_wait(lag_tries, lag_spent, self.hub._rng)
            for raw in body.get("responses", []):
                resp = BatchResponse(str(raw.get("id")), int(raw.get("status", 0)),
                                     raw.get("headers") or {}, raw.get("body"))
                item = sent.get(resp.id, {})
                if resp.ok:
                    self.fresh.saw_create(item.get("method", ""), item.get("url", ""), resp.body)
                if resp.status in RETRY_STATUSES:
                    retry.append(resp.id)
                    if resp.status == 429:
                        self.hub.stats.add(self.tenant_id, "throttled")
                    waits.append(parse_retry_after(_header(resp.headers, "Retry-After")))
                else:
                    done[resp.id] = resp         # a lagging item's answer stands unless re-sent
                    if lag is not None and self.fresh.lagging_item(resp.status, resp.body, item):
                        lagging.append(resp.id)
            missing = {r["id"] for r in pending} - set(done) - set(retry)
            if missing:
                raise GraphError(f"$batch answer lacks responses for ids {sorted(missing)}",
                                 tenant_id=self.tenant_id, method="POST", url="$batch")
            wait = 0.0
            if retry:
                attempt += 1
                known = [w for w in waits if w is not None]
                wait = max(known) if known else self._backoff(attempt)
                if attempt > self.hub.settings.max_retries or time.monotonic() + wait > limit:
                    done.update({rid: BatchResponse(rid, 429, {}, {"error": {
                        "code": "TooManyRequests", "message": "retries exhausted inside $batch"}})
                        for rid in retry})
                    retry, wait = [], 0.0
                self.hub.stats.add(self.tenant_id, "retried", len(retry))
            if lagging:         # re-sent with the throttled ones, after the longer wait
                wait = max(wait, lag)
                lag_tries, lag_spent = lag_tries + 1, lag_spent + wait
                self.hub.stats.add(self.tenant_id, "lagged", len(lagging))
                for rid in lagging:
                    retry.append(done.pop(rid).id)
            if not retry:
                break
            self.hub._sleep(wait)
            pending = []
            for item in chunk:
                if item["id"] in retry:
                    again = dict(item)
                    deps = [d for d in item.get("dependsOn", []) if d in retry]
                    if deps:
                        again["dependsOn"] = deps
                    else:
                        again.pop("dependsOn", None)
                    pending.append(again)
        return done


class Pager:
    """Streams the items of a collection across `@odata.nextLink` pages.

    After iteration, `delta_link` holds the `@odata.deltaLink` of a delta query (else None).
    """

    def __init__(self, client: TenantGraph, path: str, *, params=None, eventual=False, headers=None):
        self.client, self.path, self.params = client, path, params
        self.eventual, self.headers = eventual, headers
        self.delta_link: str | None = None
        self.pages = 0

    def __iter__(self) -> Iterator[dict]:
        url, params = self.path, self.params
        while url:
            body = self.client.request("GET", url, params=params, eventual=self.eventual,
                                       headers=self.headers) or {}
            self.pages += 1
            yield from body.get("value", [])
            url, params = body.get("@odata.nextLink"), None
            if not url:
                self.delta_link = body.get("@odata.deltaLink")


def _chunks_keeping_dependencies(items: list[dict]) -> Iterator[list[dict]]:
    """Split into batches of at most 20 without separating a request from what it depends on."""
    group_of: dict[str, list[dict]] = {}
    groups: list[list[dict]] = []
    for item in items:
        deps = item.get("dependsOn") or []
        owner = next((group_of[d] for d in deps if d in group_of), None)
        if owner is None:
            owner = []
            groups.append(owner)
        owner.append(item)
        group_of[item["id"]] = owner
    chunk: list[dict] = []
    for group in groups:
        if len(group) > BATCH_LIMIT:
            raise ValueError(f"{len(group)} dependent requests cannot fit one $batch of {BATCH_LIMIT}")
        if len(chunk) + len(group) > BATCH_LIMIT:
            yield chunk
            chunk = []
        chunk.extend(group)
    if chunk:
        yield chunk


def _header(headers: dict, name: str) -> str | None:
    return next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), None)


def _json_or_empty(resp: requests.Response) -> dict:
    try:
        body = orjson.loads(resp.content)
    except ValueError:          # orjson.JSONDecodeError is a ValueError
        return {}
    return body if isinstance(body, dict) else {}


def _loggable(url: str) -> str:
    """The URL without its query string: delta and skip tokens are long and say nothing."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
