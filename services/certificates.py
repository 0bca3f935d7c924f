"""The app's certificate credential: one PEM file with the certificate and its private key.

msal's `ConfidentialClientApplication` signs a client assertion with it. We hand msal the
private key and the public certificate (`client_credential={"private_key": ...,
"public_certificate": ...}`): msal then computes the SHA-256 thumbprint and sends `x5t#S256`
(PS256), and the certificate chain as `x5c`. A `certificate_thumbprint` in the config is passed
as msal's `thumbprint` (SHA-1, `x5t`, RS256), the older way, for registrations that need it.

The file is read and checked here, so a wrong file is a config error naming the file and what is
wrong with it. The private key never leaves this object's `msal_credential()`: it is not in its
repr, in any message, or in the exceptions raised here (cryptography's own are dropped).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigError


class CertificateCredential:
    __slots__ = ("path", "sha1", "sha256", "subject", "_key_pem", "_cert_pem", "_pinned")

    def __init__(self, path: Path, key_pem: str, cert: x509.Certificate, pinned: str | None):
        der = cert.public_bytes(serialization.Encoding.DER)
        self.path = path
        self.sha1 = hashlib.sha1(der).hexdigest().upper()
        self.sha256 = hashlib.sha256(der).hexdigest().upper()
        self.subject = cert.subject.rfc4514_string()
        self._key_pem = key_pem
        self._cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        self._pinned = pinned

    def msal_credential(self) -> dict:
        credential = {"private_key": self._key_pem, "public_certificate": self._cert_pem}
        if self._pinned:
            credential["thumbprint"] = self._pinned
        return credential

    def describe(self) -> str:
        """How messages name it: the file and the thumbprints the app registration shows."""
        return (f"{self.path} (subject {self.subject}, SHA-1 thumbprint {self.sha1}, "
                f"SHA-256 {self.sha256})")

    def __repr__(self) -> str:
        return f"CertificateCredential({self.path}, sha1={self.sha1})"


def load_certificate(path: Path, thumbprint: str | None = None,
                     key: str = "graph.certificate_path") -> CertificateCredential:
    """Read `path` (PEM: certificate and unencrypted private key); ConfigError if unusable."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read certificate file {path}: {exc.strerror}", key=key) from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigError(f"{path} holds no PEM certificate; it must hold the certificate "
                          "(-----BEGIN CERTIFICATE-----) and its private key", key=key) from None
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(f"the private key in {path} is encrypted; store it unencrypted in a "
                          "file only the dashboard's account may read (chmod 600)", key=key) from None
    except ValueError:
        raise ConfigError(f"{path} holds no readable PEM private key next to its certificate "
                          "(-----BEGIN PRIVATE KEY-----)", key=key) from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ConfigError(f"the private key in {path} is not an RSA key; Entra ID signs client "
                          "assertions with RSA certificates", key=key)
    if private.public_key().public_numbers() != cert.public_key().public_numbers():
        raise ConfigError(f"the private key in {path} does not belong to its certificate "
                          f"(subject {cert.subject.rfc4514_string()})", key=key)
    pinned = None
    if thumbprint:
        pinned = thumbprint.replace(":", "").replace(" ", "").upper()
        actual = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
        if pinned != actual:
            raise ConfigError(f"is {pinned}, but the certificate in {path} has SHA-1 thumbprint "
                              f"{actual}", key="graph.certificate_thumbprint")
    key_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    return CertificateCredential(Path(path), key_pem, cert, pinned)
