"""The console's languages: English as written in the templates, and Chinese (zh_CN) from its
message catalog, read from the .po file with Babel when first needed (no compiled file to
keep in step)."""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locale")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


def chosen(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    with open(LOCALES / language / "LC_MESSAGES" / "messages.po", "rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
