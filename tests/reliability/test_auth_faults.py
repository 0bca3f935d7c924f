"""Auth faults end to end against the emulator: a token expiring mid-job, a wrong client secret,
an app missing from one tenant, one tenant without consent (403). Clear messages that name the
tenant and the app, no traceback, no secret printed, and the other tenants unaffected.

Secrets are per configuration, not per tenant (DESIGN.md: one multi-tenant app registration),
so a wrong secret fails every tenant of that configuration; what stays per tenant is the app
being installed and consented in each tenant, which the `former` tenant and `deny_tenant` cover.
"""
import logging
import re
import threading

import pandas as pd
import pytest

from cli import main
from emulator import Emulator
from services import connect

from ..helpers import graph_all


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=3, users_per_tenant=10, seed=41,
                  state_dir=tmp_path_factory.mktemp("auth-emu")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path)
    report = client.sync(progress=False)
    assert report.ok, report.errors
    yield client
    client.close()


def _store_equals_graph(m365, emu, tid):
    graph = {u["id"]: u for u in graph_all(emu, tid, "users", **{
        "$select": "id,department,accountEnabled", "$top": "999"})}
    store = m365.users(tid).set_index("id")
    assert set(store.index) == set(graph)
    for uid, user in graph.items():
        assert _text(store.loc[uid, "department"]) == _text(user.get("department")), uid


def _text(value):
    return value if isinstance(value, str) and value else None


def _count(emu, name):
    return emu.stats().get(name, 0)


# -- a token expiring mid-job ----------------------------------------------------------------

def test_token_expiring_mid_bulk_onboarding_is_renewed_once_and_each_change_lands_once(
        m365, emu, tmp_path):
    tid = emu.tenant_ids[0]
    domain = m365.tenants().set_index("tenant_id").loc[tid, "default_domain"]
    groups = m365.groups(tid)
    two = groups[groups["writable"] == True]["display_name"].head(2).tolist()  # noqa: E712
    upns = [f"tokexp{i:02d}@{domain}" for i in range(30)]
    path = tmp_path / "onboard.csv"
    pd.DataFrame([{"User Name": u, "First Name": "Token", "Last Name": f"Expiry {i}", "Tenant": tid,
                   "Usage Location": "NL", "Licenses": "FLOW_FREE", "Groups": ";".join(two)}
                  for i, u in enumerate(upns)]).to_csv(path, index=False)
    plan = m365.bulk_onboard(path)
    assert not plan.problems, plan.problems[:3]
    acquired, expired, refused = (m365.graph.tokens.acquired, _count(emu, "expired_tokens"),
                                  emu.stats()["statuses"].get(401, 0))
    # The job's first two Graph requests are served; the third finds the token expired.
    emu.expire_tokens(tid, after_requests=2)
    result = plan.apply(progress=False)
    assert result.ok, result.failed().to_string()
    assert _count(emu, "expired_tokens") == expired + 1
    # Every $batch in flight when the token expired is refused once (the job sends up to
    # BATCHES_PER_TENANT at once); they share one renewal.
    from services.bulk.runner import BATCHES_PER_TENANT
    assert 1 <= emu.stats()["statuses"].get(401, 0) - refused <= BATCHES_PER_TENANT
    assert m365.graph.tokens.acquired == acquired + 1

    users = graph_all(emu, tid, "users", **{"$filter": "startswith(userPrincipalName,'tokexp')",
                                            "$select": "id,userPrincipalName,assignedLicenses",
                                            "$top": "999"})
    assert sorted(u["userPrincipalName"].lower() for u in users) == sorted(u.lower() for u in upns)
    assert all(len(u["assignedLicenses"]) == 1 for u in users)
    ids = {u["id"] for u in users}
    for gid in groups.set_index("display_name").loc[two, "id"]:
        members = [m["id"] for m in graph_all(emu, tid, f"groups/{gid}/members", **{"$select": "id"})]
        assert len(members) == len(set(members)) and ids <= set(members)


def test_token_expiring_mid_sync_is_renewed_once_and_the_sync_completes(m365, emu):
    tids = emu.tenant_ids
    for tid in tids:     # a change in every tenant, so the sync has something to carry over
        uid = graph_all(emu, tid, "users", **{"$select": "id", "$top": "3"})[0]["id"]
        emu.session(tid).patch(f"{emu.graph_url}/users/{uid}", json={"department": "Token Sync"},
                               verify=str(emu.ca_file)).raise_for_status()
    acquired, expired = m365.graph.tokens.acquired, _count(emu, "expired_tokens")
    emu.expire_tokens(tids[1], after_requests=1)
    report = m365.sync(full=True, progress=False)
    assert report.ok, report.errors
    assert _count(emu, "expired_tokens") == expired + 1
    assert m365.graph.tokens.acquired == acquired + 1
    for tid in tids:
        _store_equals_graph(m365, emu, tid)

    # Every token of every tenant (the partner's too) expires at once: each renews exactly once.
    acquired = m365.graph.tokens.acquired
    emu.expire_tokens()
    report = m365.sync(progress=False)
    assert report.ok, report.errors
    assert m365.graph.tokens.acquired == acquired + len(tids) + 1


def test_parallel_requests_that_meet_one_expired_token_renew_it_once(m365, emu):
    tid = emu.tenant_ids[2]
    client = m365.graph.tenant(tid)
    client.get("organization")                       # a cached token for the tenant
    acquired = m365.graph.tokens.acquired
    emu.expire_tokens(tid)
    barrier, errors = threading.Barrier(8), []

    def call():
        barrier.wait()
        try:
            client.get("users", params={"$top": "1", "$select": "id"})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert m365.graph.tokens.acquired == acquired + 1


# -- a wrong client secret ---------------------------------------------------------------------

BAD_SECRET = "emu~this-is-the-WRONG-secret-0123456789"


def test_wrong_client_secret_fails_clearly_without_traceback_or_secret(emu, m365, tmp_path,
                                                                       monkeypatch, capsys, caplog):
    before = {tid: len(m365.users(tid)) for tid in emu.tenant_ids}
    text = emu.config_path.read_text()
    bad = tmp_path / "bad-secret.toml"
    bad.write_text(re.sub(r'client_secret = ".*"', 'client_secret = "env:M365DASH_TEST_SECRET"', text))
    monkeypatch.setenv("M365DASH_TEST_SECRET", BAD_SECRET)
    capsys.readouterr()
    code = main(["sync", "--config", str(bad), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1
    shown = out + err
    assert "Traceback" not in shown
    for secret in (BAD_SECRET, emu.client_secret):
        assert secret not in shown and secret not in caplog.text
    names = m365.tenants().set_index("tenant_id")["display_name"]
    for tid in emu.tenant_ids:
        line = next(ln for ln in err.splitlines() if tid in ln and "refused" in ln)
        assert line.strip().startswith(f"{names[tid]} ({tid})")
        assert f"refused the client secret of app {emu.client_id}" in line
        assert "check graph.client_secret" in line and "AADSTS7000215" in line
    assert "a failed tenant keeps the data of its last successful sync" in err
    # With -vv every logger (msal's too) writes at debug level: still no secret anywhere.
    caplog.set_level(logging.DEBUG)
    assert main(["-vv", "sync", "--config", str(bad), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "refused the client secret" in caplog.text
    for secret in (BAD_SECRET, emu.client_secret):
        assert secret not in out + err and secret not in caplog.text
    # Nothing was lost: the store still holds every tenant's last snapshot.
    again = connect(emu.config_path)
    try:
        assert {tid: len(again.users(tid)) for tid in emu.tenant_ids} == before
    finally:
        again.close()


def test_app_missing_from_one_tenant_fails_that_tenant_only(emu, m365, tmp_path, capsys):
    """A tenant whose admin removed the app (the emulator's former client: AADSTS700016) fails
    with a message naming it and the app; the tenants listed next to it sync fully."""
    former = emu.world.former.id
    text = emu.config_path.read_text().replace("partner_tenant_id", "# partner_tenant_id")
    listed = tmp_path / "listed.toml"
    listed.write_text(text + "".join(f'[[tenants]]\ntenant_id = "{t}"\n'
                                     for t in [former, *emu.tenant_ids]))
    capsys.readouterr()
    code = main(["sync", "--config", str(listed), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    [line] = [ln for ln in err.splitlines() if former in ln]
    assert f"app {emu.client_id} is not installed in tenant {former}" in line
    assert "admin consent" in line and "AADSTS700016" in line
    assert "synced 3 of 4 tenants" in out
    check = connect(listed)
    try:
        for tid in emu.tenant_ids:
            _store_equals_graph(check, emu, tid)
    finally:
        check.close()


# -- one tenant without consent (403) ----------------------------------------------------------

def test_tenant_without_consent_is_named_and_the_others_sync_fully(emu, m365, capsys):
    denied, *others = emu.tenant_ids
    name = m365.tenants().set_index("tenant_id").loc[denied, "display_name"]
    kept = m365.users(denied).set_index("id")["department"].to_dict()
    for tid in emu.tenant_ids:
        uid = graph_all(emu, tid, "users", **{"$select": "id", "$top": "3"})[1]["id"]
        emu.session(tid).patch(f"{emu.graph_url}/users/{uid}", json={"department": "Consent Test"},
                               verify=str(emu.ca_file)).raise_for_status()
    emu.deny_tenant(denied, status=403)
    try:
        report = m365.sync(progress=False)
        assert set(report.errors) == {denied} and report.tenants == len(others)
        assert "permission denied by Graph" in report.errors[denied]
        assert "admin consent" in report.errors[denied]
        assert f"FAILED {name}" in repr(report)
        for tid in others:
            _store_equals_graph(m365, emu, tid)
        # The denied tenant keeps its last snapshot: nothing emptied, nothing half-written.
        assert m365.users(denied).set_index("id")["department"].to_dict() == kept

        capsys.readouterr()
        code = main(["sync", "--config", str(emu.config_path), "--no-progress"])
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in out + err
        [line] = [ln for ln in err.splitlines() if denied in ln]
        assert line.strip().startswith(f"{name} ({denied}): permission denied by Graph")
        assert "403" in line
    finally:
        emu.allow_tenant(denied)
    report = m365.sync(progress=False)
    assert report.ok, report.errors
    _store_equals_graph(m365, emu, denied)
