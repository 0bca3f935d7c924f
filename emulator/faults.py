"""Fault injection (deterministic under the seed) and the server's request counters.

Each Graph request (each `$batch` item, each Exchange Online InvokeCommand) rolls the dice in arrival order from one seeded
random stream: a throttle (429 with a fractional Retry-After of 0.1 to 2 s) with probability
`throttle_rate`, else a 503 with probability `error_rate`. After a successful write, with
probability `drop_after_write_rate`, the connection is closed without an answer: the change
happened but the client cannot know. Settings may change at any time from any thread.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from typing import NamedTuple

from .errors import GraphFault, injected


class Faults:
    def __init__(self, seed: int, *, latency_ms: float = 0, throttle_rate: float = 0.0,
                 error_rate: float = 0.0, drop_after_write_rate: float = 0.0):
        self._rng = random.Random(f"m365emu/{seed}/faults")
        self.latency_ms = 0.0
        self.throttle_rate = self.error_rate = self.drop_after_write_rate = 0.0
        self.set(latency_ms=latency_ms, throttle_rate=throttle_rate, error_rate=error_rate,
                 drop_after_write_rate=drop_after_write_rate)

    def set(self, **settings) -> None:
        for name, value in settings.items():
            if name not in ("latency_ms", "throttle_rate", "error_rate", "drop_after_write_rate"):
                raise TypeError(f"unknown fault setting {name!r}")
            if value is None:
                continue
            value = float(value)
            if value < 0 or (name != "latency_ms" and value > 1):
                raise ValueError(f"{name} must be {'>= 0' if name == 'latency_ms' else 'in 0..1'}")
            setattr(self, name, value)

    def settings(self) -> dict:
        return {"latency_ms": self.latency_ms, "throttle_rate": self.throttle_rate,
                "error_rate": self.error_rate, "drop_after_write_rate": self.drop_after_write_rate}

    def roll(self) -> GraphFault | None:
        """The injected answer for this request, or None to serve it."""
        rng = self._rng
        if self.throttle_rate and rng.random() < self.throttle_rate:
            return injected(429, {"Retry-After": f"{rng.uniform(0.1, 2.0):.1f}"})
        if self.error_rate and rng.random() < self.error_rate:
            return injected(503)
        return None

    def drop(self) -> bool:
        return bool(self.drop_after_write_rate) and self._rng.random() < self.drop_after_write_rate


class ExchangeWrite(NamedTuple):
    """One successful Exchange Online write cmdlet (Set-/Add-/Remove-), as the client sent it;
    `changed` is False when Exchange found nothing to do (it answered with a warning)."""
    tenant_id: str
    cmdlet: str
    parameters: dict
    changed: bool


class Stats:
    """Counters shared by the server thread (writer) and callers of `Emulator.stats()`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = Counter()
        self._tenants = Counter()
        self._statuses = Counter()
        self._writes: list[tuple[str, str, str]] = []   # (tenant id, method, path) that wrote
        self._exchange_writes: list[ExchangeWrite] = []

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def request(self, tenant_id: str | None) -> None:
        with self._lock:
            self._counts["requests"] += 1
            if tenant_id:
                self._tenants[tenant_id] += 1

    def status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def write(self, tenant_id: str, method: str, path: str) -> None:
        """A successful write, $batch items one by one: tests count them to prove a change
        was sent exactly once."""
        with self._lock:
            self._writes.append((tenant_id, method, path))

    def writes(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._writes)

    def exchange_write(self, tenant_id: str, cmdlet: str, parameters: dict, changed: bool) -> None:
        with self._lock:
            self._exchange_writes.append(ExchangeWrite(tenant_id, cmdlet, parameters, changed))

    def exchange_writes(self) -> list[ExchangeWrite]:
        with self._lock:
            return list(self._exchange_writes)

    def snapshot(self) -> dict:
        with self._lock:
            counts = dict(self._counts)
            return {
                "requests": counts.get("requests", 0),
                "per_tenant": dict(self._tenants),
                "throttled": counts.get("throttled", 0),
                "errors": counts.get("errors", 0),
                "dropped": counts.get("dropped", 0),
                "denied": counts.get("denied", 0),
                "batches": counts.get("batches", 0),
                "batch_requests": counts.get("batch_requests", 0),
                "tokens": counts.get("tokens", 0),
                "expired_tokens": counts.get("expired_tokens", 0),
                "exchange_requests": counts.get("exchange_requests", 0),
                "statuses": dict(self._statuses),
            }
