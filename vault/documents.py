"""What signed PDF documents share: an embedded CJK-capable font (documents for people outside
the vault are bilingual) and PAdES signing with pyHanko, one incremental signature at a time,
each with an RFC 3161 time stamp when a TSA is configured."""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont

from vault.errors import ConfigurationError
from vault.fonts import find_cjk_font
from vault.pki import SignerFiles

FONT_NAME = "VaultCJK"


def register_cjk_font(configured: Path | None) -> str:
    """Register the font with reportlab (embedded, subset) and return its name."""

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = find_cjk_font(configured)
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
            # One face for every weight: <b> in a paragraph must still map to this font.
            registerFontFamily(FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME,
                               boldItalic=FONT_NAME)  # fmt: skip
        except Exception as exc:  # reportlab raises its own TTFError and plain errors
            raise ConfigurationError(f"cannot use {path} as the document font: {exc}") from exc
    return FONT_NAME


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
    with open(unsigned, "rb") as source, open(target, "wb") as out:
        writer = IncrementalPdfFileWriter(source)
        signers.PdfSigner(meta, signer=loaded, timestamper=timestamper).sign_pdf(writer, output=out)
