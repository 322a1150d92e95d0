"""A throw-away certificate authority for one control plane.

Generated at start so that no key material is ever committed and every run is isolated:
one CA signs the serving certificates (valid for 127.0.0.1 and localhost, and with a real
node also for the bridge address at which Pods reach the API server and the kubelet) and
client certificates (the API server trusts it as ``--client-ca-file``), and a separate
key signs service-account tokens. ECDSA P-256 keys keep this fast.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=7)


@dataclass(frozen=True)
class KeyPair:
    """PEM files of a certificate and its private key."""

    cert: Path
    key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


class CertificateAuthority:
    """An in-memory CA that writes what it issues as PEM files into ``directory``."""

    def __init__(self, directory: Path, name: str = "coviu-test-ca") -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self._cert.public_bytes(serialization.Encoding.PEM)
        self.cert_path = _write(directory / "ca.crt", self.cert_pem)

    def _issue(
        self,
        stem: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> KeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_encipherment=True, key_cert_sign=False,
                    crl_sign=False, content_commitment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        return KeyPair(
            cert=_write(self.directory / f"{stem}.crt", cert),
            key=_write(self.directory / f"{stem}.key", _key_pem(key)),
        )

    def issue_serving(
        self, stem: str = "serving", ips: tuple[str, ...] = (), names: tuple[str, ...] = ()
    ) -> KeyPair:
        """A server certificate for the loopback address, used by every component, plus
        ``ips`` and ``names`` (the real node's bridge address, the `kubernetes` Service)."""
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in ("localhost", *names)]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", *ips)]
        return self._issue(
            stem,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
            ExtendedKeyUsageOID.SERVER_AUTH,
            sans,
        )

    def issue_client(self, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
        """A client certificate: the API server reads the user from CN, groups from O."""
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        stem = "client-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
        return self._issue(stem, x509.Name(attributes), ExtendedKeyUsageOID.CLIENT_AUTH)


def write_service_account_keys(directory: Path) -> KeyPair:
    """The pair that signs (private, ``--service-account-signing-key-file``) and verifies
    (public, ``--service-account-key-file``) service-account tokens; ``cert`` holds the
    public key, as kube-apiserver reads only RSA or ECDSA public keys from that flag."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(
        cert=_write(directory / "sa.pub", public),
        key=_write(directory / "sa.key", _key_pem(key)),
    )
