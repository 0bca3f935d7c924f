"""Reading several Graph collections together, one `$batch` round per page step.

Each collection is a chain of pages (page k+1's link comes with page k), so chains cannot be
shortened, but different chains can share requests: every round sends the next page of every
unfinished chain in one `$batch` (20 items per HTTP request). A chain that finishes may start
others (the app assignments of the groups just read, a full read after an expired delta token),
which join the next round. For a 1,000-user tenant a full read is three HTTP requests and an
incremental one is one, which matters most when every round trip costs tens of milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..errors import GraphError
from ..graph import TenantGraph


@dataclass
class Stream:
    """One collection being read: its next page's URL (relative, for `$batch`) and its items."""

    name: str
    url: str
    headers: dict | None = None
    items: list = field(default_factory=list)
    delta_link: str | None = None
    error: GraphError | None = None
    done: bool = False
    # Called once the chain ends (read or failed); returns streams to start in the next round.
    on_done: Callable[["Stream"], Iterable["Stream"] | None] | None = None
    key: object = None           # the caller's tag, e.g. the group id of an app listing


def relative(client: TenantGraph, link: str) -> str | None:
    """`link` as a `$batch` URL, or None when it points outside this Graph endpoint."""
    base = client.base
    if link.startswith(base + "/"):
        return link[len(base):]
    return None


def read_all(client: TenantGraph, streams: Iterable[Stream]) -> None:
    """Read every stream (and every stream they start) to its end."""
    pending = list(streams)
    while pending:
        answers = client.batch([{"id": str(i), "method": "GET", "url": s.url,
                                 **({"headers": s.headers} if s.headers else {})}
                                for i, s in enumerate(pending)])
        following: list[Stream] = []
        started: list[Stream] = []
        for stream, answer in zip(pending, answers):
            error = answer.error(tenant_id=client.tenant_id, method="GET",
                                 url=stream.url.split("?")[0])
            if error is not None:
                stream.error = error
            else:
                body = answer.body if isinstance(answer.body, dict) else {}
                stream.items.extend(body.get("value", ()))
                link = body.get("@odata.nextLink")
                if link and relative(client, link):
                    stream.url = relative(client, link)
                    following.append(stream)
                    continue
                if link:
                    # A next page on another host cannot travel in a $batch: read it directly.
                    pager = client.pages(link, headers=stream.headers)
                    stream.items.extend(pager)
                    stream.delta_link = pager.delta_link
                else:
                    stream.delta_link = body.get("@odata.deltaLink")
            stream.done = True
            if stream.on_done is not None:
                started.extend(stream.on_done(stream) or ())
        # Chains already under way first: they bound the number of rounds.
        pending = following + started
