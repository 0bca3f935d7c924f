"""Bulk onboarding, offboarding and updates against the emulator: precise problems, exactly once."""
import csv
import os
import signal
import stat
import subprocess
import sys
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from emulator import Emulator
from services import Actor, PermissionDenied, connect

from ..helpers import graph_all


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=2, users_per_tenant=25, seed=31,
                  state_dir=tmp_path_factory.mktemp("bulk-emu")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path)
    client.sync(progress=False)
    yield client
    client.close()


def _get(emu, tid, path, **params):
    resp = emu.session(tid).get(f"{emu.graph_url}/{path}", params=params, verify=str(emu.ca_file))
    resp.raise_for_status()
    return resp.json()


_all = graph_all


@pytest.fixture(scope="module")
def tenant_facts(m365, emu):
    tenant = m365.tenants().iloc[0]
    tid = tenant["tenant_id"]
    lic = m365.licenses(tid)
    sku = lic.sort_values("available", ascending=False).iloc[0]
    groups = m365.groups(tid)
    writable = groups[(groups["writable"] == True)]["display_name"].tolist()  # noqa: E712
    readonly = groups[groups["kind"] == "distribution"]["display_name"].tolist()
    return {"tid": tid, "domain": tenant["default_domain"], "sku": sku["sku_part_number"],
            "sku_id": sku["sku_id"], "seats": int(sku["available"]), "groups": writable[:2],
            "distribution": readonly[0] if readonly else None}


def _onboarding_csv(path, facts, prefix, n=200, licensed=None, bad=True):
    licensed = min(facts["seats"] - 1, 40) if licensed is None else licensed
    rows = []
    for i in range(n):
        rows.append({"User Name": f"{prefix}{i:03d}@{facts['domain']}", "First Name": "Bulk",
                     "Last Name": f"Person {i}", "Department": "Ops", "Tenant": facts["tid"],
                     "Usage Location": "US", "Licenses": facts["sku"] if i < licensed else "",
                     "Groups": ";".join(facts["groups"])})
    bad_rows = {}
    if bad:
        # Ten rows with one precise problem each; spreadsheet row = index + 2.
        edits = [
            ("User Name", "not-an-upn", "User Name"),
            ("User Name", f"x@unverified-{prefix}.example", "User Name"),
            ("Usage Location", "ZZ", "Usage Location"),
            ("Usage Location", "", "Usage Location"),      # with a license: needs a usage location
            ("Licenses", "NO_SUCH_SKU", "Licenses"),
            ("Groups", "Group That Does Not Exist", "Groups"),
            ("Groups", facts["distribution"] or "Group That Does Not Exist 2", "Groups"),
            ("Tenant", "unknown-tenant.example", "Tenant"),
            ("First Name", "", "First Name"),
            ("Mobile Phone", "call me maybe", "Mobile Phone"),
        ]
        for k, (column, value, expect_col) in enumerate(edits):
            index = 150 + k if column not in ("Usage Location",) else k   # licensed rows for location
            if column == "Licenses":
                index = 5
            rows[index][column] = value
            bad_rows[index + 2] = expect_col
    pd.DataFrame(rows).to_csv(path, index=False)
    return bad_rows


def test_bulk_onboard_reports_each_bad_row_and_applies_the_rest(m365, emu, tenant_facts, tmp_path):
    path = tmp_path / "onboard.csv"
    bad_rows = _onboarding_csv(path, tenant_facts, "bk")
    plan = m365.bulk_onboard(path)
    found = {p.row: p.column for p in plan.problems}
    assert found == bad_rows, plan.problems_frame.to_string()
    assert all(p.message for p in plan.problems)
    before = emu.stats()["requests"] if "requests" in emu.stats() else None
    result = plan.apply(skip_invalid=True, progress=False, passwords_file=tmp_path / "pw.csv")
    assert result.ok, result.failed().to_string()
    created = [u for u in _all(emu, tenant_facts["tid"], "users",
                               **{"$filter": "startswith(userPrincipalName,'bk')",
                                  "$select": "id,userPrincipalName,assignedLicenses", "$top": "999"})]
    assert len(created) == 190
    assert len({u["userPrincipalName"].lower() for u in created}) == 190
    licensed = [u for u in created if any(a["skuId"].lower() == tenant_facts["sku_id"].lower()
                                          for a in u["assignedLicenses"])]
    assert len(licensed) == sum(1 for r in range(40) if r + 2 not in bad_rows)
    assert stat.S_IMODE(os.stat(tmp_path / "pw.csv").st_mode) == 0o600
    with open(tmp_path / "pw.csv") as fh:
        passwords = {r["user_principal_name"]: r["password"] for r in csv.DictReader(fh)}
    assert len(passwords) == 190
    # Passwords go only to the file: no store table holds one.
    engine = sa.create_engine(m365.config.store_url)
    sample = list(passwords.values())[:5]
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            text = " ".join(str(r) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
            assert not any(p in text for p in sample), f"password found in table {table}"
    # The store was refreshed: the new users are listed without another sync.
    listed = m365.users(tenant_facts["tid"])
    assert listed["user_principal_name"].str.startswith("bk").sum() == 190

    rerun = m365.bulk_onboard(path)
    again = rerun.apply(skip_invalid=True, progress=False)
    after = _all(emu, tenant_facts["tid"], "users",
                 **{"$filter": "startswith(userPrincipalName,'bk')", "$select": "id", "$top": "999"})
    assert len(after) == 190
    assert again.ok and (again.steps.query("step == 'create'")["outcome"] == "skipped").all()
    for group_name in tenant_facts["groups"]:
        gid = m365.groups(tenant_facts["tid"]).set_index("display_name").loc[group_name, "id"]
        members = _all(emu, tenant_facts["tid"], f"groups/{gid}/members", **{"$select": "id"})
        ids = [m["id"] for m in members]
        assert len(ids) == len(set(ids))
        assert len({u["id"] for u in created} & set(ids)) == 190


@pytest.mark.slow            # a CLI job under 40 ms latency, killed, then resumed: seconds
def test_bulk_onboard_killed_mid_job_resumes_exactly_once(m365, emu, tenant_facts, tmp_path):
    path = tmp_path / "kill.csv"
    _onboarding_csv(path, tenant_facts, "kl", n=120, licensed=20, bad=False)
    emu.set_faults(latency_ms=40)
    env = {**os.environ, "M365DASH_CONFIG": str(emu.config_path)}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "bulk", "onboard", str(path),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    engine = sa.create_engine(m365.config.store_url)
    deadline = time.time() + 120
    done = 0
    try:
        while time.time() < deadline:
            with engine.connect() as conn:
                done = conn.execute(sa.text(
                    "SELECT count(*) FROM bulk_steps WHERE step='create' AND status='done' "
                    "AND user LIKE 'kl%'")).scalar() or 0
            if done >= 40 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the job finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        emu.set_faults(latency_ms=0)
    with engine.connect() as conn:
        job_id = conn.execute(sa.text("SELECT job_id FROM bulk_steps WHERE user LIKE 'kl%' LIMIT 1")).scalar()
        pending = conn.execute(sa.text(f"SELECT count(*) FROM bulk_steps WHERE job_id='{job_id}' "
                                       "AND status='pending'")).scalar()
    assert pending > 0
    resumed = subprocess.run([sys.executable, "-m", "cli", "bulk", "resume", job_id,
                              "--no-progress"], env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    users = _all(emu, tenant_facts["tid"], "users",
                 **{"$filter": "startswith(userPrincipalName,'kl')",
                    "$select": "id,userPrincipalName,assignedLicenses", "$top": "999"})
    assert len(users) == 120
    assert sum(1 for u in users if u["assignedLicenses"]) == 20
    status = subprocess.run([sys.executable, "-m", "cli", "bulk", "status", job_id],
                            env=env, capture_output=True, text=True, timeout=60)
    assert "pending" not in status.stdout.split("status")[-1]
    for group_name in tenant_facts["groups"]:
        gid = m365.groups(tenant_facts["tid"]).set_index("display_name").loc[group_name, "id"]
        ids = [m["id"] for m in _all(emu, tenant_facts["tid"], f"groups/{gid}/members")]
        assert len(ids) == len(set(ids))
        assert {u["id"] for u in users} <= set(ids)


def test_bulk_refused_for_technician_and_audited(emu, tenant_facts, tmp_path):
    path = tmp_path / "tech.csv"
    _onboarding_csv(path, tenant_facts, "tc", n=3, licensed=0, bad=False)
    tech = connect(emu.config_path, actor=Actor("tina@msp.example", role="technician"))
    plan = tech.bulk_onboard(path)
    with pytest.raises(PermissionDenied):
        plan.apply(progress=False)
    log = tech.audit_log()
    assert ((log["actor"] == "tina@msp.example") & (log["outcome"] == "denied")).any()
    assert not _all(emu, tenant_facts["tid"], "users",
                    **{"$filter": "startswith(userPrincipalName,'tc')", "$select": "id"})


def test_bulk_offboard_and_update_rows(m365, emu, tenant_facts, tmp_path):
    users = m365.users(tenant_facts["tid"])
    targets = users[users["user_principal_name"].str.startswith("bk0")].head(3)
    off = tmp_path / "off.csv"
    pd.DataFrame({"Tenant": tenant_facts["tid"], "User": targets["user_principal_name"],
                  "Block Sign-in": "yes", "Remove Groups": "yes"}).to_csv(off, index=False)
    plan = m365.bulk_offboard(off)
    assert plan.problems == []
    result = plan.apply(progress=False)
    assert result.ok, result.failed().to_string()
    for uid in targets["id"]:
        assert _get(emu, tenant_facts["tid"], f"users/{uid}", **{"$select": "accountEnabled"})[
            "accountEnabled"] is False
    upd = tmp_path / "upd.csv"
    pd.DataFrame({"Tenant": [tenant_facts["tid"]] * 2,
                  "User": list(targets["user_principal_name"][:1]) + ["ghost@nowhere.example"],
                  "Department": ["Finance", "X"]}).to_csv(upd, index=False)
    plan = m365.bulk_update(upd)
    assert [p.row for p in plan.problems] == [3]
    result = plan.apply(skip_invalid=True, progress=False)
    assert result.ok
    uid = targets["id"].iloc[0]
    assert _get(emu, tenant_facts["tid"], f"users/{uid}", **{"$select": "department"})["department"] == "Finance"


def test_bulk_offboard_plans_each_row_once_and_replans_stale_or_resumed(m365, emu, tenant_facts,
                                                                         tmp_path, monkeypatch):
    """Validation plans every row against live state; the first apply runs those plans instead of
    planning each row again (each plan costs several Graph reads). A stale plan is planned
    again, and a resumed job plans only its unfinished rows, so each change still lands once."""
    from services.bulk import jobs
    from services.bulk import plan as bulk_plan

    users = m365.users(tenant_facts["tid"])
    # Seeded users that can still be blocked (this test does not depend on the others).
    seeded = ~users["user_principal_name"].str.match(r"(bk|kl|tc)\d")
    targets = users[seeded & (users["account_enabled"] == True)].head(6)  # noqa: E712
    upns = list(targets["user_principal_name"])
    assert len(upns) == 6
    calls = []
    real = m365.plan_offboarding

    def counted(*args, **kwargs):
        calls.append(str(args[1]).lower())
        return real(*args, **kwargs)

    monkeypatch.setattr(m365, "plan_offboarding", counted)
    from services.workflows import resolve
    real_facts, facts_loaded = resolve._load_facts, []
    monkeypatch.setattr(resolve, "_load_facts",
                        lambda *a, **k: facts_loaded.append(1) or real_facts(*a, **k))
    off = tmp_path / "off-once.csv"
    pd.DataFrame({"Tenant": tenant_facts["tid"], "User": upns[:3],
                  "Block Sign-in": "yes"}).to_csv(off, index=False)
    plan = m365.bulk_offboard(off)
    assert plan.problems == [] and len(calls) == 3
    assert len(facts_loaded) == 1          # the rows share one read of the tenant's facts
    result = plan.apply(progress=False)
    assert result.ok and (result.steps["outcome"] == "done").all()
    assert len(calls) == 3                                   # applied without planning again
    for upn in upns[:3]:
        assert _get(emu, tenant_facts["tid"], f"users/{upn}",
                    **{"$select": "accountEnabled"})["accountEnabled"] is False
    # A second apply of the same plan is a new job: it plans again and finds nothing to do.
    again = plan.apply(progress=False)
    assert len(calls) == 6 and (again.steps["outcome"] == "skipped").all()

    # A plan older than PLAN_REUSE_SECONDS is planned again at apply.
    calls.clear()
    off2 = tmp_path / "off-stale.csv"
    pd.DataFrame({"Tenant": tenant_facts["tid"], "User": upns[3:],
                  "Block Sign-in": "yes"}).to_csv(off2, index=False)
    stale = m365.bulk_offboard(off2)
    # Below zero, so the plan counts as stale at once (no sleep needed to make it "older").
    monkeypatch.setattr(bulk_plan, "PLAN_REUSE_SECONDS", -1.0)
    # One row at a time, so the kill lands after exactly one row (in a real job the rows in
    # flight at the kill are pending too, and resume plans each of them again the same way).
    monkeypatch.setattr(jobs, "ROW_WORKERS", 1)
    # The job is "killed" after its first row: resume plans only the rows still pending.

    real_record, recorded = jobs.Journal.record, []

    def record_then_die(self, job_id, outcomes):
        real_record(self, job_id, outcomes)
        recorded.extend(outcomes)
        if any(o[1] == "done" for o in recorded):
            raise KeyboardInterrupt

    monkeypatch.setattr(jobs.Journal, "record", record_then_die)
    with pytest.raises(KeyboardInterrupt):
        stale.apply(progress=False)
    monkeypatch.setattr(jobs.Journal, "record", real_record)
    assert len(calls) == 3 + 1                 # validation, then the stale first row again
    jobs_ = m365.bulk_jobs()
    job_id = jobs_[jobs_["source"] == "off-stale.csv"].iloc[0]["job_id"]
    resumed = m365.bulk_resume(job_id, progress=False)
    assert resumed.ok and (resumed.steps["outcome"] == "done").all()
    assert len(calls) == 3 + 1 + 2             # only the two unfinished rows were planned again
    for upn in upns[3:]:
        assert _get(emu, tenant_facts["tid"], f"users/{upn}",
                    **{"$select": "accountEnabled"})["accountEnabled"] is False


def test_bulk_update_applies_several_users_at_once_each_change_once(m365, emu, tenant_facts,
                                                                    tmp_path, monkeypatch):
    """Rows of different users are applied side by side (a row is mostly waiting on Graph), and
    each user's change still lands once, recorded in the journal and the results."""
    import threading

    from services.workflows.plan import Plan
    users = m365.users(tenant_facts["tid"])
    upns = list(users["user_principal_name"].head(10))
    in_flight, most, lock = [0], [0], threading.Lock()
    real_apply = Plan.apply

    def watched(self, **kwargs):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            time.sleep(0.2)        # a slow Graph: without parallel rows nothing would overlap
            return real_apply(self, **kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(Plan, "apply", watched)
    upd = tmp_path / "titles.csv"
    pd.DataFrame({"Tenant": tenant_facts["tid"], "User": upns,
                  "Job Title": [f"Parallel {i}" for i in range(len(upns))]}).to_csv(upd, index=False)
    plan = m365.bulk_update(upd)
    assert plan.problems == []

    def edits_done():
        log = m365.audit_log()
        done = log[(log["action"] == "edit") & (log["outcome"] == "done")]
        return done.groupby("user").size().reindex(upns, fill_value=0)
    before = edits_done()
    result = plan.apply(progress=False)
    assert result.ok and len(result.steps) == len(upns)
    assert (result.steps["outcome"] == "done").all()
    assert most[0] > 1
    for i, upn in enumerate(upns):
        assert _get(emu, tenant_facts["tid"], f"users/{upn}",
                    **{"$select": "jobTitle"})["jobTitle"] == f"Parallel {i}"
    assert (edits_done() - before).tolist() == [1] * len(upns)


def test_bulk_offboard_remove_roles_column_removes_every_directory_role_once(m365, emu,
                                                                             tenant_facts, tmp_path):
    tid = tenant_facts["tid"]
    upns = [f"rr{i}.{os.getpid()}@{tenant_facts['domain']}" for i in range(3)]
    for upn in upns:
        name, domain = upn.split("@")
        made = m365.plan_onboarding(tid, user={
            "given_name": "Role", "surname": name, "username": name, "domain": domain},
            roles=["Helpdesk Administrator", "User Administrator"]).apply()
        assert made.ok, made

    def roles_of(upn):
        uid = _get(emu, tid, f"users/{upn}", **{"$select": "id"})["id"]
        return _all(emu, tid, "roleManagement/directory/roleAssignments",
                    **{"$filter": f"principalId eq '{uid}'"})

    assert all(len(roles_of(upn)) == 2 for upn in upns)
    off = tmp_path / "off-roles.csv"
    pd.DataFrame({"Tenant": tid, "User": upns, "Remove directory roles": "yes",
                  "Block Sign-in": "yes"}).to_csv(off, index=False)
    plan = m365.bulk_offboard(off)
    assert plan.problems == []
    assert list(plan.steps["target"].unique()) == ["block sign-in; remove role; remove role"]
    result = plan.apply(progress=False)
    assert result.ok and (result.steps["outcome"] == "done").all(), result.failed().to_string()
    assert all(roles_of(upn) == [] for upn in upns)
    log = m365.audit_log(action="offboard")
    for upn in upns:
        entry = log[log["user"] == upn].iloc[0]
        assert entry["detail"]["parameters"]["remove_roles"] is True

    # The same file again: every row finds nothing left to do.
    again = m365.bulk_offboard(off)
    assert {p.message for p in again.problems} == {
        "nothing to change: the user holds no directory roles; sign-in is already blocked"}
    rerun = plan.apply(progress=False)
    assert (rerun.steps["outcome"] == "skipped").all()
    assert all(roles_of(upn) == [] for upn in upns)


def test_bulk_onboard_user_name_with_a_domain_column_and_users_counted_not_steps(
        m365, tenant_facts, tmp_path):
    path = tmp_path / "domain.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Tenant", "User Name", "Domain", "First Name", "Last Name", "Usage Location",
                      "Licenses"])
        out.writerow([tenant_facts["tid"], "dom.one", tenant_facts["domain"], "Dom", "One", "US",
                      tenant_facts["sku"]])
        out.writerow([tenant_facts["tid"], f"dom.two@{tenant_facts['domain']}",
                      tenant_facts["domain"], "Dom", "Two", "US", ""])
        out.writerow([tenant_facts["tid"], "dom.three@elsewhere.example", tenant_facts["domain"],
                      "Dom", "Three", "US", ""])
    plan = m365.bulk_onboard(path)
    assert [(p.row, p.column) for p in plan.problems] == [(4, "User Name")]
    assert "already has a domain" in plan.problems[0].message
    result = plan.apply(skip_invalid=True, progress=False)
    users = set(m365.users(tenant_facts["tid"])["user_principal_name"].str.lower())
    assert {f"dom.one@{tenant_facts['domain']}", f"dom.two@{tenant_facts['domain']}"} <= users
    # Two users, three steps (one create with a license): the summary counts people.
    assert len(result.steps) == 3
    assert result.user_counts == {"done": 2, "failed": 0}
