"""Certificate credentials end to end: msal signs a client assertion with the configured
certificate, the emulator's token endpoint verifies it against the app registration's
certificates, and a wrong certificate is refused (AADSTS700027) with a message naming it. Test
certificates are made here, at test time; no key is checked in."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import subprocess
import sys
import time
import uuid

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulator import Emulator
from services import connect
from services.certificates import load_certificate
from services.errors import ConfigError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def make_certificate(name: str, *, days: int = 30) -> tuple[bytes, bytes, rsa.RSAPrivateKey, x509.Certificate]:
    """(certificate PEM, key PEM, key, certificate): a self-signed RSA certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, key, cert


def _key_body(key_pem: bytes) -> str:
    """A distinctive line of the key's base64 body, to look for in logs and messages."""
    return key_pem.decode().splitlines()[5]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cert-emu")
    with Emulator(tenants=2, users_per_tenant=12, seed=31, state_dir=folder / "emu") as emu:
        good_cert, good_key, key, cert = make_certificate("m365dash test app")
        emu.register_certificate(good_cert)
        bad_cert, bad_key, *_ = make_certificate("some other certificate")
        files = {}
        for name, (c, k) in {"good": (good_cert, good_key), "wrong": (bad_cert, bad_key)}.items():
            path = folder / f"{name}.pem"
            path.write_bytes(c + k)
            path.chmod(0o600)
            files[name] = path
        yield {"emu": emu, "folder": folder, "files": files, "key": key, "cert": cert,
               "keys": {"good": good_key, "wrong": bad_key}}


def _config(world, name: str, extra: str = "") -> str:
    """The emulator's config with the client secret swapped for a certificate file."""
    emu = world["emu"]
    lines = [line for line in emu.config_path.read_text().splitlines()
             if not line.startswith("client_secret")]
    at = lines.index("[graph]") + 1
    lines.insert(at, f"certificate_path = {json.dumps(str(world['files'][name]))}{extra}")
    path = world["folder"] / f"{name}-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_certificate_credential_signs_in_and_syncs_every_tenant(world, caplog):
    caplog.set_level(logging.DEBUG)
    m365 = connect(_config(world, "good"))
    try:
        report = m365.sync(progress=False)
        assert not report.errors, report.errors
        assert set(m365.tenants()["tenant_id"]) == set(world["emu"].tenant_ids)
        assert len(m365.users()) >= 24
    finally:
        m365.close()
    assert _key_body(world["keys"]["good"]) not in caplog.text


def test_certificate_credential_with_pinned_sha1_thumbprint_uses_x5t_and_works(world):
    sha1 = hashlib.sha1(world["cert"].public_bytes(serialization.Encoding.DER)).hexdigest()
    m365 = connect(_config(world, "good", f'\ncertificate_thumbprint = "{sha1}"'))
    try:
        assert m365.graph.tokens.token(world["emu"].tenant_ids[0])
    finally:
        m365.close()


def test_certificate_credential_wrong_certificate_is_refused_naming_it_and_700027(world, caplog):
    caplog.set_level(logging.DEBUG)
    m365 = connect(_config(world, "wrong"))
    try:
        report = m365.sync(progress=False)
    finally:
        m365.close()
    assert report.errors
    text = "\n".join(report.errors.values())
    path = str(world["files"]["wrong"])
    assert path in text and "AADSTS700027" in text
    assert "Certificates & secrets" in text and "certificate_path" in text
    for key in world["keys"].values():
        assert _key_body(key) not in text and _key_body(key) not in caplog.text


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_certificate_credential_cli_sync_wrong_certificate_exits_1_without_the_key(world):
    run = subprocess.run([sys.executable, "-m", "cli", "sync", "--config", _config(world, "wrong")],
                         capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "AADSTS700027" in out and str(world["files"]["wrong"]) in out
    assert "Traceback" not in out
    assert _key_body(world["keys"]["wrong"]) not in out


def _token(world, tenant_id: str, assertion: str, **form) -> requests.Response:
    emu = world["emu"]
    body = {"grant_type": "client_credentials", "client_id": emu.client_id,
            "scope": "https://graph.microsoft.com/.default", "client_assertion": assertion,
            "client_assertion_type": JWT_BEARER, **form}
    return requests.post(f"{emu.authority_host}/{tenant_id}/oauth2/v2.0/token", data=body,
                         verify=str(emu.ca_file), timeout=30)


def _assertion(world, tenant_id: str, *, header=None, alg="RS256", key=None, **claims) -> str:
    emu = world["emu"]
    now = int(time.time())
    der = world["cert"].public_bytes(serialization.Encoding.DER)
    x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
    payload = {"aud": f"{emu.authority_host}/{tenant_id}/oauth2/v2.0/token", "iss": emu.client_id,
               "sub": emu.client_id, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
               "exp": now + 600, **claims}
    return jwt.encode(payload, key or world["key"], algorithm=alg,
                      headers={"x5t": x5t} if header is None else header)


def test_emulator_token_endpoint_checks_every_part_of_the_client_assertion(world):
    emu = world["emu"]
    tid = emu.tenant_ids[0]
    assert _token(world, tid, _assertion(world, tid)).status_code == 200

    def refused(resp) -> tuple[int, str]:
        body = resp.json()
        assert resp.status_code == 401 and body["error"] == "invalid_client", body
        return body["error_codes"][0], body["error_description"]

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    code, text = refused(_token(world, tid, _assertion(world, tid, key=other_key)))
    assert code == 700027 and "did not match the expected signature" in text
    code, text = refused(_token(world, tid, _assertion(world, tid, header={"x5t": "AAAA"})))
    assert code == 700027 and "The key was not found" in text and emu.client_id in text
    code, _ = refused(_token(world, tid, _assertion(world, tid, header={})))
    assert code == 50027
    code, _ = refused(_token(world, tid, _assertion(world, tid, aud="https://elsewhere/token")))
    assert code == 700023
    code, _ = refused(_token(world, tid, _assertion(world, tid, iss="someone-else")))
    assert code == 700021
    code, text = refused(_token(world, tid, _assertion(world, tid, exp=int(time.time()) - 3600)))
    assert code == 700024 and "valid time range" in text
    code, _ = refused(_token(world, tid, _assertion(world, tid, nbf=int(time.time()) + 3600)))
    assert code == 700024
    code, _ = refused(_token(world, tid, _assertion(world, tid), client_assertion_type="jwt"))
    assert code == 7000216


def test_certificate_file_problems_are_config_errors_naming_the_file_not_the_key(world, tmp_path):
    good = world["files"]["good"]
    cert_pem, key_pem = good.read_bytes().split(b"-----BEGIN PRIVATE KEY-----")
    key_pem = b"-----BEGIN PRIVATE KEY-----" + key_pem
    _, other_key, *_ = make_certificate("other")
    cases = {"cert-only.pem": cert_pem, "key-only.pem": key_pem, "mismatch.pem": cert_pem + other_key}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ConfigError) as caught:
            load_certificate(path)
        message = str(caught.value)
        assert str(path) in message
        assert _key_body(key_pem) not in message and _key_body(other_key) not in message
    with pytest.raises(ConfigError, match="certificate_thumbprint"):
        load_certificate(good, thumbprint="00" * 20)
    loaded = load_certificate(good)
    assert _key_body(key_pem) not in repr(loaded) and str(good) in loaded.describe()
