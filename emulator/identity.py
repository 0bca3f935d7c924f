"""Who may call: the TLS certificate, the app registration, signed access tokens.

Everything lives in the state folder and survives restarts: `emulator-ca.pem` (a self-signed
certificate that clients use as their CA file: BasicConstraints CA=true, SAN IP 127.0.0.1 and
DNS localhost), its key, the RS256 token-signing key and `app.json` with the one multi-tenant
app registration (client id and secret) that every tenant has consented to.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import secrets
import time
import uuid
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .access import ALL_PERMISSIONS
from .assertions import Certificates

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Exchange Online ("Office 365 Exchange Online"): the admin API behind InvokeCommand.
EXCHANGE_AUDIENCE = "https://outlook.office365.com"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
AUDIENCES = {GRAPH_AUDIENCE: (GRAPH_AUDIENCE, GRAPH_AUDIENCE + "/", GRAPH_APP_ID),
             EXCHANGE_AUDIENCE: (EXCHANGE_AUDIENCE, EXCHANGE_AUDIENCE + "/", EXCHANGE_APP_ID)}
APP_ROLES = list(ALL_PERMISSIONS)      # granted in every tenant unless emulator/access.py says not
APP_NAME = "M365 Dashboard (emulator)"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_certificate(folder: Path, hosts=("127.0.0.1", "localhost")) -> tuple[Path, Path]:
    """(certificate, key) paths; created once per state folder."""
    cert_path, key_path = folder / "emulator-ca.pem", folder / "emulator-ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "m365dash emulator local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "m365dash emulator")])
    sans = []
    for host in dict.fromkeys((*hosts, "127.0.0.1", "localhost")):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class TokenError(Exception):
    """Why a bearer token is refused; the message is Graph's."""


class Identity:
    """The app registration and the token issuer of every emulated tenant."""

    def __init__(self, folder: Path, token_lifetime: int = 3600):
        self.folder = folder
        self.token_lifetime = int(token_lifetime)
        app_path = folder / "app.json"
        if app_path.exists():
            app = json.loads(app_path.read_text(encoding="utf-8"))
        else:
            app = {"client_id": str(uuid.uuid4()),
                   "client_secret": "emu~" + secrets.token_urlsafe(30)}
            _write_private(app_path, json.dumps(app).encode())
        self.client_id, self.client_secret = app["client_id"], app["client_secret"]
        # Certificates uploaded to the app registration: client assertions are checked
        # against them (emulator/assertions.py). Kept in app.json, public parts only.
        self._app, self._app_path = app, app_path
        self.certificates = Certificates(app.get("certificates", []))
        key_path = folder / "token-signing.key"
        if key_path.exists():
            self._key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        else:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(key_path, self._key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        self._public = self._key.public_key()
        der = self._public.public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
        self._verified: dict[str, dict] = {}
        self._issued: dict[str, dict[str, str]] = {}   # tenant id -> `uti` -> `aud` of live tokens
        self._revoked: set[str] = set()            # `uti` of tokens made to expire early

    def register_certificate(self, pem: bytes | str) -> str:
        """Upload a certificate's public part to the app registration; its SHA-1 thumbprint."""
        thumbprint = self.certificates.add(pem)
        self._app["certificates"] = list(self.certificates.pems)
        _write_private(self._app_path, json.dumps(self._app).encode())
        return thumbprint

    def secret_matches(self, secret: str | None) -> bool:
        return secret is not None and secrets.compare_digest(secret, self.client_secret)

    def issue(self, tenant_id: str, lifetime: int | None = None,
              roles: list[str] | None = None,
              audience: str = GRAPH_AUDIENCE) -> tuple[str, int]:
        """(access token, lifetime seconds) for the app in one tenant; `roles`: the application
        permissions granted there (the `roles` claim; Graph authorizes from it); `audience`:
        Graph's or Exchange Online's (EXCHANGE_AUDIENCE)."""
        lifetime = self.token_lifetime if lifetime is None else int(lifetime)
        now = int(time.time())
        service_principal = str(uuid.uuid5(uuid.UUID(tenant_id), self.client_id))
        claims = {
            "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": now,
            "nbf": now, "exp": now + lifetime, "aio": secrets.token_urlsafe(24),
            "app_displayname": APP_NAME, "appid": self.client_id, "appidacr": "1",
            "idp": f"https://sts.windows.net/{tenant_id}/", "idtyp": "app",
            "oid": service_principal, "rh": secrets.token_urlsafe(16),
            "sub": service_principal, "tenant_region_scope": "EU", "tid": tenant_id,
            "uti": secrets.token_urlsafe(16), "ver": "1.0",
        }
        granted = sorted(APP_ROLES if roles is None else roles)
        if granted:                 # Entra leaves the claim out when nothing is granted
            claims["roles"] = granted
        token = jwt.encode(claims, self._key, algorithm="RS256",
                           headers={"kid": self.kid, "x5t": self.kid})
        self._issued.setdefault(tenant_id, {})[claims["uti"]] = audience
        return token, lifetime

    def issue_user(self, tenant_id: str, audience: str, scope: str, upn: str) -> tuple[str, int]:
        """(delegated access token, lifetime) of a user of `tenant_id` for another API
        (Partner Center): `aud`, `scp` and `upn` claims, signed with the same key."""
        now = int(time.time())
        claims = {"aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": now,
                  "nbf": now, "exp": now + self.token_lifetime, "appid": self.client_id,
                  "idtyp": "user", "scp": scope, "tid": tenant_id, "upn": upn,
                  "oid": str(uuid.uuid5(uuid.UUID(tenant_id), upn)),
                  "uti": secrets.token_urlsafe(16), "ver": "1.0"}
        token = jwt.encode(claims, self._key, algorithm="RS256",
                           headers={"kid": self.kid, "x5t": self.kid})
        return token, self.token_lifetime

    def verify_user(self, token: str, audience: str) -> dict:
        """A delegated token's claims for `audience`; raises jwt.InvalidTokenError."""
        return jwt.decode(token, self._public, algorithms=["RS256"], audience=audience)

    def expire(self, tenant_id: str | None = None, audience: str | None = None) -> int:
        """Make every token issued so far (for one tenant, or all; for one API's `audience`, or
        every API's) expire now, as if its lifetime had run out; tokens issued later are valid.
        Returns how many were expired."""
        tenants = [tenant_id] if tenant_id else list(self._issued)
        count = 0
        for tid in tenants:
            live = self._issued.get(tid, {})
            gone = [uti for uti, aud in live.items() if audience is None or aud == audience]
            for uti in gone:
                del live[uti]
            self._revoked.update(gone)
            count += len(gone)
        return count

    def verify(self, token: str, audience: str = GRAPH_AUDIENCE) -> dict:
        """The token's claims; raises TokenError with Graph's message when it is refused
        (`audience`: the API asking, Graph's unless Exchange Online's)."""
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self._public, algorithms=["RS256"],
                                    options={"verify_exp": False, "verify_aud": False,
                                             "verify_nbf": False})
            except jwt.InvalidTokenError:
                raise TokenError("IDX14100: JWT is not well formed or its signature is invalid.") from None
            if len(self._verified) > 20000:
                self._verified.clear()
            self._verified[token] = claims      # signature checked; the audience each time
        if claims.get("aud") not in AUDIENCES[audience]:
            raise TokenError("Access token validation failure. Invalid audience.")
        if claims["exp"] <= time.time() or claims.get("uti") in self._revoked:
            raise TokenError("Lifetime validation failed, the token is expired.")
        return claims

    def jwks(self) -> dict:
        numbers = self._public.public_numbers()

        def b64(n: int) -> str:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                          "n": b64(numbers.n), "e": b64(numbers.e)}]}
