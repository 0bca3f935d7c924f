"""Certificate credentials: the app's registered certificates and client-assertion checks.

A confidential client may prove itself with a signed JWT instead of a secret
(`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`). Entra looks
up the certificate by the header's thumbprint (`x5t`: SHA-1, or `x5t#S256`: SHA-256, both
base64url of the DER digest), verifies the signature (RS256, or PS256 as msal 1.35+ sends with
x5t#S256) with that certificate's public key, and checks the claims: `aud` is the token
endpoint, `iss` and `sub` are the client id, `exp` is in the future and `nbf`/`iat` are not.

Refusals carry Entra's AADSTS codes. AADSTS700027 ("Client assertion contains an invalid
signature. [Reason - The key was not found., Thumbprint of key used by client: ...") and
AADSTS50027 ("No certificate thumbprint specified in token header") follow texts seen in public
issue threads; the wording of the claim checks (700021, 700023, 700024) is close to Entra's.
"""
from __future__ import annotations

import base64
import hashlib
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "PS256")
SKEW = 300          # seconds of clock difference Entra tolerates
DOCS = ("Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/"
        "develop/active-directory-certificate-credentials .")


class AssertionRefused(Exception):
    """Why the token endpoint refuses a client assertion: (AADSTS code, Entra's text)."""

    def __init__(self, code: int, text: str):
        super().__init__(f"AADSTS{code}: {text}")
        self.code, self.text = code, text


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Certificates:
    """The certificates uploaded to the app registration (Certificates & secrets)."""

    def __init__(self, pems=()):
        self._by_thumbprint: dict[str, x509.Certificate] = {}
        self.pems: list[str] = []
        for pem in pems:
            self.add(pem)

    def add(self, pem: bytes | str) -> str:
        """Register a certificate (PEM; only its public part is needed); its SHA-1 thumbprint."""
        text = pem.decode("ascii") if isinstance(pem, bytes) else pem
        cert = x509.load_pem_x509_certificate(text.encode("ascii"))
        der = cert.public_bytes(serialization.Encoding.DER)
        self._by_thumbprint[_b64(hashlib.sha1(der).digest())] = cert
        self._by_thumbprint[_b64(hashlib.sha256(der).digest())] = cert
        shown = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        if shown not in self.pems:
            self.pems.append(shown)
        return hashlib.sha1(der).hexdigest().upper()

    def verify(self, form: dict, client_id: str, audiences: set[str]) -> None:
        """Raise AssertionRefused unless the form's client assertion is valid for `client_id`."""
        if form.get("client_assertion_type") != JWT_BEARER:
            raise AssertionRefused(7000216, f"'client_assertion_type' must be '{JWT_BEARER}' when "
                                            "'client_assertion' is given.")
        assertion = form.get("client_assertion") or ""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
        digest = header.get("x5t#S256") or header.get("x5t")
        if not digest:
            raise AssertionRefused(50027, "Invalid JWT token. No certificate thumbprint specified "
                                          "in token header.")
        shown = _hex(digest)
        cert = self._by_thumbprint.get(str(digest).rstrip("="))   # msal pads, others do not
        if cert is None:
            raise AssertionRefused(700027, (
                "Client assertion contains an invalid signature. [Reason - The key was not found., "
                f"Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph "
                "Explorer or directly use MS Graph to see configured keys for app Id "
                f"'{client_id}'.]"))
        if header.get("alg") not in ALGORITHMS:
            raise AssertionRefused(50027, f"Invalid JWT token. Unsupported signing algorithm "
                                          f"'{header.get('alg')}'.")
        try:
            claims = jwt.decode(assertion, cert.public_key(), algorithms=[header["alg"]],
                                options={"verify_aud": False, "verify_exp": False,
                                         "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidTokenError:
            start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
            raise AssertionRefused(700027, (
                "Client assertion contains an invalid signature. [Reason - The provided signature "
                "value did not match the expected signature value., Thumbprint of key used by "
                f"client: '{shown}', Found key 'Start={start:%m/%d/%Y %H:%M:%S}, "
                f"End={end:%m/%d/%Y %H:%M:%S}']")) from None
        _check_claims(claims, client_id, audiences)


def _check_claims(claims: dict, client_id: str, audiences: set[str]) -> None:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused(700021, "Client assertion application identifier doesn't match "
                                       f"'client_id' parameter. {DOCS}")
    if claims.get("aud") not in audiences:
        raise AssertionRefused(700023, "Client assertion audience claim does not match Realm "
                                       f"issuer. {DOCS}")
    now = time.time()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf", claims.get("iat")), claims.get("iat")
    numbers = all(isinstance(v, (int, float)) for v in (exp, nbf) if v is not None)
    if (not numbers or not isinstance(exp, (int, float)) or exp <= now - SKEW
            or (nbf is not None and nbf > now + SKEW)
            or (isinstance(iat, (int, float)) and iat > now + SKEW)):
        raise AssertionRefused(700024, (
            f"Client assertion is not within its valid time range. Current time: "
            f"{_stamp(now)}, assertion valid from {_stamp(nbf)}, expiry time of assertion "
            f"{_stamp(exp)}. {DOCS}"))


def _stamp(value) -> str:
    if not isinstance(value, (int, float)):
        return "(none)"
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(value))


def _hex(thumbprint: str) -> str:
    """The thumbprint as Entra prints it: upper-case hex of the digest."""
    try:
        return base64.urlsafe_b64decode(thumbprint + "=" * (-len(thumbprint) % 4)).hex().upper()
    except (ValueError, TypeError):
        return str(thumbprint)
