"""The CJK-capable font every bilingual document embeds: found on the system (or configured),
registered with reportlab once."""

from __future__ import annotations

from pathlib import Path

from vault.errors import ConfigurationError

FONT_NAME = "VaultCJK"

# TrueType (glyf) CJK fonts from Debian packages: reportlab embeds TrueType outlines only,
# so the Noto CJK OpenType/CFF fonts would not do.
KNOWN_CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


def find_cjk_font(configured: Path | None) -> Path:
    if configured is not None:
        if not configured.is_file():
            raise ConfigurationError(f"document_font {configured} does not exist")
        return configured
    for candidate in KNOWN_CJK_FONTS:
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        "no font with Chinese glyphs for bilingual documents: install Debian's"
        " fonts-wqy-microhei (apt-get install fonts-wqy-microhei) or set document_font to a"
        " TrueType .ttf/.ttc file"
    )


def register_cjk_font(configured: Path | None) -> str:
    """Register the font with reportlab (embedded, subset) and return its name."""
    # Imported here: finding the font (evault doctor) needs no PDF library.
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = find_cjk_font(configured)
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
            # One face for every weight: <b> in a paragraph must still map to this font.
            pdfmetrics.registerFontFamily(
                FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME
            )
        except Exception as exc:  # reportlab raises its own TTFError and plain errors
            raise ConfigurationError(f"cannot use {path} as the document font: {exc}") from exc
    return FONT_NAME
