"""Pages from Jinja2 templates: autoescaped always (a file name or a station's metadata is
text, never markup), translated per person, times in the vault's display time zone with the
zone shown."""

from __future__ import annotations

import base64
import functools
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.web.i18n import LANGUAGES, translations
from vault.moments import for_people

TEMPLATES = Path(__file__).with_name("templates")


def when(moment: datetime | None, zone: str) -> str:
    """YYYY-MM-DD HH:MM:SS ±HH:MM (abbreviation), in ``zone``: the same text as the CLI and
    the PDFs."""
    return for_people(moment, zone, none="—")


def visible(text: object) -> str:
    """Control and bidirectional formatting characters shown as their code points: a right-to-
    left mark in a file name must not reorder what a custodian reads."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") and c not in "\t" else c
        for c in str(text)
    )


@functools.cache
def _environment(language: str) -> Environment:
    """One environment per language: translations are installed once, never per request
    (two people reading in two languages at once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.globals["b64"] = lambda raw: base64.b64encode(bytes(raw)).decode()
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def page(template: str, *, language: str, zone: str, **context: Any) -> str:
    return (
        _environment(language)
        .get_template(template)
        .render(
            language=language,
            languages=LANGUAGES,
            zone=zone,
            when=lambda moment: when(moment, zone),
            **context,
        )
    )
