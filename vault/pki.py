"""The vault's own small PKI for signing PDF documents: a CA and signer certificates it
issues, under keys_dir with mode 0600 keys. An outside party trusts the CA certificate
(`evault key list` prints where it is). People who sign (a destruction's executor and
supervisor) have keys of their own: issued by this CA, or imported from an external CA's
PKCS#12 / PEM files when ``signing_ca`` names that CA (the vault then issues none).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

CA_YEARS = 40  # longer than any retention it has to outlive in practice, renewed by rotation
SIGNER_YEARS = 5


@dataclass(frozen=True)
class SignerFiles:
    key: Path
    certificate: Path
    ca_certificate: Path


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
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


def _issue_signer(
    ca_key_path: Path, ca_cert_path: Path, subject: x509.Name
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new EC key and a document-signing certificate for it from the vault's CA."""
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
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
    return key, cert


def ensure_signer(keys_dir: Path, purpose: str, *, organisation: str) -> SignerFiles:
    """A signing key and certificate for ``purpose`` (e.g. "audit-report"), made once."""
    ca_key_path, ca_cert_path = _ensure_ca(keys_dir / "ca", organisation)
    directory = keys_dir / "signers"
    key_path, cert_path = directory / f"{purpose}.key", directory / f"{purpose}.pem"
    if cert_path.exists():
        return SignerFiles(key_path, cert_path, ca_cert_path)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key, cert = _issue_signer(
        ca_key_path, ca_cert_path, _name(f"{organisation} evidence-vault {purpose}", organisation)
    )
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SignerFiles(key_path, cert_path, ca_cert_path)


def _user_file_stem(username: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username) and not username.startswith("."):
        return username
    return "u-" + hashlib.sha256(username.encode()).hexdigest()[:24]


def user_signer(
    keys_dir: Path, username: str, *, ca_certificate: Path | None = None
) -> SignerFiles:
    """The files of a person's signing key; FileNotFoundError when none was provisioned."""
    stem = _user_file_stem(username)
    key, cert = keys_dir / "users" / f"{stem}.key", keys_dir / "users" / f"{stem}.pem"
    if not cert.exists() or not key.exists():
        raise FileNotFoundError(f"{username} has no signing key: run `evault user keys {username}`")
    return SignerFiles(key, cert, ca_certificate or keys_dir / "ca" / "ca.pem")


def issue_user_key(
    keys_dir: Path, username: str, *, display_name: str, organisation: str
) -> SignerFiles:
    """A new EC key and a certificate from the vault's CA naming the person."""
    ca_key_path, ca_cert_path = _ensure_ca(keys_dir / "ca", organisation)
    key, cert = _issue_signer(
        ca_key_path, ca_cert_path, _name(display_name or username, organisation)
    )
    return _install_user_key(keys_dir, username, key, cert, ca_cert_path)


def import_user_key(
    keys_dir: Path,
    username: str,
    *,
    ca_certificate: Path,
    pkcs12_data: bytes | None = None,
    key_pem: bytes | None = None,
    cert_pem: bytes | None = None,
    passphrase: bytes | None = None,
) -> SignerFiles:
    """Install a person's key and certificate (PKCS#12, or PEM key + certificate), checking
    that the certificate matches the key and was issued by ``ca_certificate``."""
    if pkcs12_data is not None:
        key, cert, _ = pkcs12.load_key_and_certificates(pkcs12_data, passphrase)
    elif key_pem is not None and cert_pem is not None:
        key = serialization.load_pem_private_key(key_pem, password=passphrase)
        cert = x509.load_pem_x509_certificate(cert_pem)
    else:
        raise ValueError("give a PKCS#12 file, or a PEM key and its PEM certificate")
    if key is None or cert is None:
        raise ValueError("the file holds no private key and certificate")
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("signing keys must be EC or RSA")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValueError("the certificate is not for this private key")
    ca = x509.load_pem_x509_certificate(ca_certificate.read_bytes())
    if cert.issuer != ca.subject or not _signed_by(cert, ca):
        raise ValueError(
            f"the certificate was not issued by the configured CA ({ca.subject.rfc4514_string()})"
        )
    return _install_user_key(keys_dir, username, key, cert, ca_certificate)


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    issuer_key = ca.public_key()
    try:
        if isinstance(issuer_key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            issuer_key.verify(
                cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
            )
        elif isinstance(issuer_key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            issuer_key.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                cert.signature_hash_algorithm,
            )  # fmt: skip
        else:
            return False
    except Exception:
        return False
    return True


def _install_user_key(
    keys_dir: Path,
    username: str,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    cert: x509.Certificate,
    ca_certificate: Path,
) -> SignerFiles:
    directory = keys_dir / "users"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = _user_file_stem(username)
    key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
    # A replaced key keeps the old one beside it: signatures it made must stay checkable.
    for old in (key_path, cert_path):
        if old.exists():
            old.rename(old.with_name(f"{old.name}.{int(datetime.now(UTC).timestamp())}.old"))
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SignerFiles(key_path, cert_path, ca_certificate)
