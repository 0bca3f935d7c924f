"""Running a bulk onboarding job from its journal, phase by phase, exactly once.

Every phase reads the journal's pending steps, sends them in `$batch` requests and records each
outcome before the next phase starts. Within a phase the `$batch` requests of different tenants,
and up to BATCHES_PER_TENANT of one tenant, are in flight together: under throttling most of a
request's time is spent waiting out Retry-After. A create whose answer was lost (the connection dropped
after Graph applied it) is re-sent by the client, meets "already exists", and is resolved by
looking the user up by user principal name: one user, never two.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Callable

import pandas as pd

from ..errors import GraphError
from ..exchange import ExchangeOnline
from ..graph import TenantGraph
from ..passwords import generate_password
from ..workflows.plan import graph_failure
from ..workflows.resolve import user_path
from .journal import Journal
from .parallel import run_side_by_side

log = logging.getLogger(__name__)

MEMBERS_PER_PATCH = 20
ALREADY_MEMBER = "already exist"
BATCH_WORKERS = 8            # `$batch` requests in flight at once, over all tenants
BATCHES_PER_TENANT = 4       # ... and for one tenant (Graph throttles per tenant and app)


def run_batches(tasks: list[tuple[str, Callable[[], None]]]) -> None:
    """Send (tenant_id, send-one-$batch) tasks side by side (see parallel.run_side_by_side)."""
    run_side_by_side(tasks, workers=BATCH_WORKERS, per_tenant=BATCHES_PER_TENANT,
                     name="m365-bulk-batch")


class Progress:
    """Counts finished steps for tqdm and for an optional callback (the dashboard's bar)."""

    def __init__(self, total: int, show: bool, callback: Callable[[int, int], None] | None):
        self.total, self.done, self.callback = total, 0, callback
        self.bar = None
        if show and total:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc="bulk", unit="step")

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.callback:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _error_text(resp) -> str:
    err = resp.error()
    return f"{err.status} {err.code}: {err.graph_message}" if err else ""


class OnboardRunner:
    def __init__(self, m365, journal: Journal, job_id: str, rows: list[dict],
                 progress: Progress, password_sink: Callable[[str, str], None]):
        self.m365, self.journal, self.job_id = m365, journal, job_id
        self.rows = {r["row"]: r for r in rows}
        self.progress, self._sink = progress, password_sink
        self._lock = threading.Lock()

    def password_sink(self, upn: str, password: str) -> None:
        with self._lock:
            self._sink(upn, password)

    def _client(self, tenant_id: str) -> TenantGraph:
        return self.m365.graph.tenant(tenant_id)

    def run(self, typed_passwords: dict[int, str] | None = None) -> None:
        typed_passwords = typed_passwords or {}
        self._creates(typed_passwords)
        self._roles()
        self._licenses()
        self._groups()
        self._lists()
        self._managers()

    def _pending(self, step: str) -> pd.DataFrame:
        steps = self.journal.steps(self.job_id)
        return steps[(steps["step"] == step) & (steps["status"].isin(["pending", "failed"]))]

    def _user_ids(self) -> dict[int, str]:
        steps = self.journal.steps(self.job_id)
        created = steps[(steps["step"] == "create") & steps["object_id"].notna()]
        return dict(zip(created["row"], created["object_id"]))

    def _finish(self, outcomes: list[tuple[int, str, str | None, str | None]]) -> None:
        self.journal.record(self.job_id, outcomes)
        with self._lock:
            self.progress.advance(len(outcomes))

    def _creates(self, typed: dict[int, str]) -> None:
        pending = self._pending("create")
        tasks = []
        for tenant_id, group in pending.groupby("tenant_id"):
            client = self._client(tenant_id)
            todo, outcomes = [], []
            for rec in group.itertuples():
                row = self.rows[rec.row]
                if row.get("exists_id"):
                    outcomes.append((rec.seq, "skipped", "already created by an earlier bulk job",
                                     row["exists_id"]))
                    continue
                todo.append((rec, row))
            self._finish(outcomes)
            tasks += [(tenant_id, lambda c=client, chunk=todo[start:start + 20]:
                       self._create_chunk(c, chunk, typed))
                      for start in range(0, len(todo), 20)]
        run_batches(tasks)

    def _create_chunk(self, client: TenantGraph, chunk: list, typed: dict[int, str]) -> None:
        passwords = {rec.seq: typed.get(rec.row) or generate_password() for rec, _ in chunk}
        requests = [{"method": "POST", "url": "/users", "body": {
            **row["body"], "passwordProfile": {"password": passwords[rec.seq],
                                               "forceChangePasswordNextSignIn": True}}}
            for rec, row in chunk]
        answers = client.batch(requests)
        outcomes = []
        for (rec, row), resp in zip(chunk, answers):
            if resp.ok:
                self.password_sink(row["upn"], passwords[rec.seq])
                outcomes.append((rec.seq, "done", None, resp.body["id"]))
            elif resp.status == 400 and "already exists" in _error_text(resp):
                outcomes.append(self._adopt_existing(client, rec, row))
            else:
                outcomes.append((rec.seq, "failed", _error_text(resp), None))
        self._finish(outcomes)

    def _adopt_existing(self, client: TenantGraph, rec, row) -> tuple:
        """Our earlier attempt landed but its answer was lost: find the user instead of failing."""
        try:
            user = client.get(user_path(row["upn"]) or "users/-",
                              params={"$select": "id,userPrincipalName"})
        except GraphError as exc:
            return (rec.seq, "failed", f"user name already taken and lookup failed: {exc}", None)
        client.fresh.mark(user["id"])   # created moments ago: its follow-ups may meet lag
        return (rec.seq, "done", None, user["id"])

    def _dependent_steps(self, step: str):
        """Pending steps of this kind, split into those whose user exists and those whose does not."""
        ids = self._user_ids()
        ready, blocked = [], []
        for rec in self._pending(step).itertuples():
            (ready if rec.row in ids else blocked).append((rec, ids.get(rec.row)))
        if blocked:
            self._finish([(rec.seq, "skipped", "the user was not created", None) for rec, _ in blocked])
        return ready

    def _batched(self, tenant_id: str, items: list, make_request, ok_statuses=()) -> list:
        """One task per `$batch` of 20 of `items`, for run_batches."""
        client = self._client(tenant_id)

        def send(chunk):
            answers = client.batch([make_request(rec, uid) for rec, uid in chunk])
            outcomes = []
            for (rec, uid), resp in zip(chunk, answers):
                if resp.ok or resp.status in ok_statuses:
                    outcomes.append((rec.seq, "done", None, None))
                else:
                    outcomes.append((rec.seq, "failed", _error_text(resp), None))
            self._finish(outcomes)
        return [(tenant_id, lambda chunk=items[start:start + 20]: send(chunk))
                for start in range(0, len(items), 20)]

    def _roles(self) -> None:
        by_tenant = defaultdict(list)
        for rec, uid in self._dependent_steps("role"):
            by_tenant[rec.tenant_id].append((rec, uid))
        run_batches([task for tenant_id, items in by_tenant.items()
                     for task in self._batched(tenant_id, items, lambda rec, uid: {
                         "method": "POST", "url": "/roleManagement/directory/roleAssignments",
                         "body": {"roleDefinitionId": rec.target, "principalId": uid,
                                  "directoryScopeId": "/"}}, ok_statuses=(409,))])

    def _managers(self) -> None:
        by_tenant = defaultdict(list)
        for rec, uid in self._dependent_steps("manager"):
            by_tenant[rec.tenant_id].append((rec, uid))
        tasks = []
        for tenant_id, items in by_tenant.items():
            base = self._client(tenant_id).base
            tasks += self._batched(tenant_id, items, lambda rec, uid, base=base: {
                "method": "PUT", "url": f"/users/{uid}/manager/$ref",
                "body": {"@odata.id": f"{base}/users/{rec.target}"}})
        run_batches(tasks)

    def _licenses(self) -> None:
        by_tenant = defaultdict(list)
        for rec, uid in self._dependent_steps("license"):
            by_tenant[rec.tenant_id].append((rec, uid))
        run_batches([task for tenant_id, items in by_tenant.items()
                     for task in self._batched(tenant_id, items, lambda rec, uid: {
                         "method": "POST", "url": f"/users/{uid}/assignLicense",
                         "body": {"addLicenses": [{"skuId": s, "disabledPlans": []}
                                                  for s in rec.target.split(";")],
                                  "removeLicenses": []}})])

    def _groups(self) -> None:
        by_group = defaultdict(list)
        for rec, uid in self._dependent_steps("group"):
            by_group[(rec.tenant_id, rec.target)].append((rec, uid))
        by_tenant = defaultdict(list)
        for (tenant_id, group_id), members in by_group.items():
            for start in range(0, len(members), MEMBERS_PER_PATCH):
                by_tenant[tenant_id].append((group_id, members[start:start + MEMBERS_PER_PATCH]))
        run_batches([(tenant_id, lambda c=self._client(tenant_id), chunk=patches[start:start + 20]:
                      self._group_chunk(c, chunk))
                     for tenant_id, patches in by_tenant.items()
                     for start in range(0, len(patches), 20)])

    def _lists(self) -> None:
        """Distribution lists and mail-enabled security groups: one Exchange cmdlet per member,
        tenants side by side; "already a member" (a resumed job) counts as done."""
        by_tenant = defaultdict(list)
        for rec, uid in self._dependent_steps("list"):
            by_tenant[rec.tenant_id].append((rec, uid))

        def add(tenant_id: str, items: list) -> None:
            exo = ExchangeOnline(self._client(tenant_id))
            for rec, uid in items:
                try:
                    exo.add_member(rec.target, uid)
                except GraphError as exc:
                    self._finish([(rec.seq, "failed", graph_failure(exc), None)])
                else:
                    self._finish([(rec.seq, "done", None, None)])
        run_batches([(tid, lambda tid=tid, part=items[i:i + 20]: add(tid, part))
                     for tid, items in by_tenant.items() for i in range(0, len(items), 20)])

    def _group_chunk(self, client: TenantGraph, chunk: list) -> None:
        base = client.base
        answers = client.batch([{
            "method": "PATCH", "url": f"/groups/{gid}",
            "body": {"members@odata.bind": [f"{base}/directoryObjects/{uid}" for _, uid in members]}}
            for gid, members in chunk])
        for (gid, members), resp in zip(chunk, answers):
            if resp.ok:
                self._finish([(rec.seq, "done", None, None) for rec, _ in members])
            else:
                # All-or-nothing: one member already in (a resumed job) fails the PATCH,
                # so add these one by one and count "already a member" as done.
                self._groups_one_by_one(client, gid, members)

    def _groups_one_by_one(self, client: TenantGraph, group_id: str, members: list) -> None:
        answers = client.batch([{
            "method": "POST", "url": f"/groups/{group_id}/members/$ref",
            "body": {"@odata.id": f"{client.base}/directoryObjects/{uid}"}} for _, uid in members])
        outcomes = []
        for (rec, _), resp in zip(members, answers):
            if resp.ok or (resp.status == 400 and ALREADY_MEMBER in _error_text(resp)):
                outcomes.append((rec.seq, "done", None, None))
            else:
                outcomes.append((rec.seq, "failed", _error_text(resp), None))
        self._finish(outcomes)
