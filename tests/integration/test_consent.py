"""`m365dash consent` against the emulator with its access traps on (customer 4 never consented):
the listing with the admin-consent link, and `--push` through the emulated Partner Center with a
device-code sign-in (docs/ACCESS.md, "Consent for many tenants")."""
from __future__ import annotations

import csv
import io
import json

import pytest

from cli import main
from emulator import Emulator
from services import Actor, connect
from services import partner_center as PC
from services import permissions as P

NO_CONSENT = "no consent (AADSTS65001)"


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=4, users_per_tenant=6, seed=23, groups_per_tenant=4, access_traps=True,
                  state_dir=tmp_path_factory.mktemp("consent-emu")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def synced(emu):
    client = connect(emu.config_path, actor=Actor("consent-tests@msp.example", "admin"))
    client.sync(progress=False)
    client.close()
    return next(tid for tid, name in emu.traps.items() if name == NO_CONSENT)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_consent_lists_the_no_consent_tenant_with_its_link(emu, synced, capsys):
    link = f"{emu.authority_host}/{synced}/adminconsent?client_id={emu.client_id}"
    code, out, _ = _run(capsys, "consent", "--config", str(emu.config_path), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["tenant_id"], r["consent_url"]) for r in rows] == [(synced, link)]
    code, out, _ = _run(capsys, "consent", "--config", str(emu.config_path), "--format", "csv")
    listed = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["consent_url"] for r in listed] == [link]
    code, out, _ = _run(capsys, "consent", "--config", str(emu.config_path))
    assert code == 0 and synced in out and link in out
    assert emu.partner_center_requests() == []             # listing never calls Partner Center


def test_consent_body_names_graph_and_every_requested_permission(emu):
    body = PC.consent_body(emu.client_id)
    assert body["applicationId"] == emu.client_id
    [grant] = body["applicationGrants"]
    assert grant["enterpriseApplicationId"] == "00000003-0000-0000-c000-000000000000"
    assert grant["scope"].split(",") == P.requested_permissions()


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_consent_push_consents_once_retries_429_then_reports_already_consented(emu, synced,
                                                                                capsys):
    emu.throttle_partner_center(1, retry_after=1)
    code, out, err = _run(capsys, "consent", "--config", str(emu.config_path), "--push")
    assert code == 0, err
    assert f"({synced}): consented" in out
    assert "microsoft.com/devicelogin" in err and "enter the code" in err   # the prompt
    assert "eyJ" not in out + err                                            # never the token
    assert emu.partner_center_requests() == [("POST", synced, 429), ("POST", synced, 201)]

    code, out, err = _run(capsys, "consent", "--config", str(emu.config_path), "--push",
                          "--format", "json")
    assert code == 0, err
    assert [(r["tenant_id"], r["outcome"]) for r in json.loads(out)] == [
        (synced, "already consented")]
    assert emu.partner_center_requests()[2:] == [("POST", synced, 409)]


def test_consent_after_push_access_shows_the_tenant_ready(emu, synced, capsys):
    if not emu.partner_center_requests():
        pytest.skip("needs the push test before it")
    code, out, err = _run(capsys, "access", "--config", str(emu.config_path), "--tenant", synced,
                          "--format", "json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["access"] == "ready"
    code, out, _ = _run(capsys, "consent", "--config", str(emu.config_path), "--format", "json")
    assert json.loads(out) == []


def test_consent_push_without_partner_tenant_is_a_configuration_error(emu, synced, capsys,
                                                                      tmp_path):
    text = emu.config_path.read_text()
    lines = [line for line in text.splitlines() if not line.startswith("partner_tenant_id")]
    config = tmp_path / "m365dash.toml"
    config.write_text("\n".join(lines) + f'\n[[tenants]]\ntenant_id = "{synced}"\n')
    code, _, err = _run(capsys, "consent", "--config", str(config), "--push")
    assert code == 2 and "partner_tenant_id" in err
