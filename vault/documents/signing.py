"""PAdES signatures on the vault's documents with pyHanko: one incremental signature at a time
(earlier signatures stay valid), each with an RFC 3161 time stamp when a TSA is configured."""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper

from vault.errors import ConfigurationError
from vault.pki import SignerFiles


def sign_pdf(
    unsigned: Path,
    target: Path,
    signer: SignerFiles,
    *,
    field: str,
    reason: str,
    tsa_url: str | None,
    timeout: float,
) -> None:
    """Add one PAdES signature as an incremental update (earlier signatures stay valid)."""

    loaded = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]  # pyHanko: untyped
        str(signer.key), str(signer.certificate), ca_chain_files=(str(signer.ca_certificate),)
    )
    if loaded is None:
        raise ConfigurationError(f"cannot load the signing key {signer.key}")
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
    )  # fmt: skip
    timestamper = HTTPTimeStamper(tsa_url, timeout=int(timeout)) if tsa_url else None
    # "x": a signed document is never written over an existing file.
    with open(unsigned, "rb") as source, open(target, "xb") as out:
        writer = IncrementalPdfFileWriter(source)
        signers.PdfSigner(meta, signer=loaded, timestamper=timestamper).sign_pdf(writer, output=out)
