"""How the vault's bilingual documents look: one set of paragraph styles, one grid and one
page set-up, all in the embedded CJK font (vault.documents.fonts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle  # table cells
    mono: ParagraphStyle  # hashes and findings


def styles(font: str) -> Styles:
    return Styles(
        title=ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4),
        heading=ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=6),
        body=ParagraphStyle("body", fontName=font, fontSize=8.5, leading=12),
        small=ParagraphStyle("small", fontName=font, fontSize=6.5, leading=8),
        mono=ParagraphStyle("mono", fontName=font, fontSize=7, leading=9),
    )


def text(value: object, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: anything that looks like markup is shown, not obeyed."""
    return Paragraph(escape(str(value)), style)


def grid(
    rows: Sequence[Sequence[object]],
    widths_mm: Sequence[float],
    style: ParagraphStyle,
    *,
    header: bool = False,
) -> Table:
    """A ruled table; strings become wrapping paragraphs in ``style``, flowables stay as they
    are; with ``header`` the first row is shaded and repeated on every page."""
    cells = [[c if isinstance(c, Flowable) else text(c, style) for c in row] for row in rows]
    table = Table(cells, colWidths=[w * mm for w in widths_mm], repeatRows=1 if header else 0)
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
    table.setStyle(TableStyle(commands))
    return table


def build(
    target: Path,
    story: Sequence[Flowable],
    *,
    title: str,
    author: str = "",
    wide: bool = False,
) -> None:
    """Write the PDF: A4 portrait, or landscape (``wide``) for many-column registers."""
    margin = 10 * mm if wide else 18 * mm
    SimpleDocTemplate(
        str(target),
        pagesize=landscape(A4) if wide else A4,
        title=title,
        author=author,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    ).build(list(story))
