"""The vault's own small PKI for signing PDF documents: a CA and signer certificates it
issues, under keys_dir with mode 0600 keys. An outside party trusts the CA certificate
(`evault key list` prints where it is); an external CA can replace it later (issue 6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_YEARS = 40  # longer than any retention it has to outlive in practice, renewed by rotation
SIGNER_YEARS = 5


@dataclass(frozen=True)
class SignerFiles:
    key: Path
    certificate: Path
    ca_certificate: Path


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        os.fsync(handle.fileno())


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ensure_ca(directory: Path, organisation: str) -> tuple[Path, Path]:
    key_path, cert_path = directory / "ca.key", directory / "ca.pem"
    if cert_path.exists():
        return key_path, cert_path
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = _name(f"{organisation} evidence-vault CA", organisation)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def ensure_signer(keys_dir: Path, purpose: str, *, organisation: str) -> SignerFiles:
    """A signing key and certificate for ``purpose`` (e.g. "audit-report"), made once."""
    ca_key_path, ca_cert_path = _ensure_ca(keys_dir / "ca", organisation)
    directory = keys_dir / "signers"
    key_path, cert_path = directory / f"{purpose}.key", directory / f"{purpose}.pem"
    if cert_path.exists():
        return SignerFiles(key_path, cert_path, ca_cert_path)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} evidence-vault {purpose}", organisation))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SignerFiles(key_path, cert_path, ca_cert_path)
