"""Where the CJK-capable font for bilingual documents is (no PDF library imported here)."""

from __future__ import annotations

from pathlib import Path

from vault.errors import ConfigurationError

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
