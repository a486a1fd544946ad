"""PDF receipts with fpdf2: embedded Noto fonts, HarfBuzz shaping, right-to-left layout.

The page mirrors for right-to-left locales (labels on the right, text right-aligned),
every string is split across the fonts that can draw it (:mod:`i18n.pdf_text`), and
HarfBuzz (``uharfbuzz``) shapes each run, which Arabic joining, Devanagari conjuncts
and Thai vowel placement need. A character no installed font covers is an error
before anything is drawn, and any glyph fpdf2 still reports missing after rendering is
an error too: a receipt with blank boxes is worse than no receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fpdf import FPDF
from fpdf.fonts import TTFFont

from i18n.fonts import (
    LATIN,
    FontFace,
    MissingGlyphError,
    coverage,
    font_chain,
    missing_glyph_error,
    require_font_file,
)
from i18n.pdf_text import Run, UncoveredText, font_runs, visual_order, wrap
from i18n.receipt_view import ReceiptView

_PT: Final = 25.4 / 72  # millimetres per point
_MARGIN: Final = 18.0
_LABEL_WIDTH: Final = 62.0
_GUTTER: Final = 6.0
_TEXT: Final = (33, 33, 33)
_MUTED: Final = (84, 84, 84)  # 7.6:1 on white, above WCAG AA for small text
_RULE: Final = (210, 210, 210)


@dataclass(frozen=True, slots=True)
class _Block:
    """Laid-out lines of one text at one size and weight."""

    lines: list[list[Run]]
    size: float
    bold: bool

    @property
    def line_height(self) -> float:
        return self.size * _PT * 1.45

    @property
    def height(self) -> float:
        return len(self.lines) * self.line_height


class _Typesetter:
    """Draws text on an fpdf2 page through the locale's font chain."""

    def __init__(self, pdf: FPDF, chain: tuple[FontFace, ...], rtl: bool) -> None:
        self.pdf = pdf
        self.chain = chain
        self.rtl = rtl
        self._loaded: set[tuple[int, bool]] = set()
        self._coverages = {bold: [coverage(face, bold) for face in chain] for bold in (False, True)}

    def _use(self, font: int, size: float, bold: bool, rtl: bool | None) -> None:
        face = self.chain[font]
        if (font, bold) not in self._loaded:
            self.pdf.add_font(
                face.key,
                "B" if bold else "",
                require_font_file(face, bold),
                collection_font_number=face.collection_index,
            )
            self._loaded.add((font, bold))
        self.pdf.set_font(face.key, "B" if bold else "", size)
        self.pdf.set_text_shaping(True, direction="rtl" if rtl else "ltr")

    def _width(self, run: Run, size: float, bold: bool) -> float:
        self._use(run.font, size, bold, run.rtl if run.rtl is not None else self.rtl)
        return self.pdf.get_string_width(run.text)

    def layout(self, text: str, width: float, size: float, bold: bool = False) -> _Block:
        try:
            runs = font_runs(text, self._coverages[bold])
        except UncoveredText as exc:
            raise missing_glyph_error(exc.text, exc.missing, self.chain) from exc
        lines = wrap(runs, width, lambda run: self._width(run, size, bold))
        return _Block(lines, size, bold)

    def draw(
        self, block: _Block, x: float, y: float, width: float, color: tuple[int, int, int] = _TEXT
    ) -> float:
        """Draw ``block`` in the column [x, x + width], aligned to the reading start."""
        self.pdf.set_text_color(*color)
        for number, line in enumerate(block.lines):
            ordered = visual_order(line, self.rtl)
            widths = [self._width(run, block.size, block.bold) for run in ordered]
            cursor = x + width - sum(widths) if self.rtl else x
            top = y + number * block.line_height
            for run, run_width in zip(ordered, widths, strict=True):
                self._use(run.font, block.size, block.bold, run.rtl)
                self.pdf.set_xy(cursor, top)
                self.pdf.cell(w=run_width, h=block.line_height, text=run.text)
                cursor += run_width
        return y + block.height


class _Page:
    """The receipt's page geometry, mirrored for right-to-left locales."""

    def __init__(self, pdf: FPDF, setter: _Typesetter) -> None:
        self.pdf = pdf
        self.setter = setter
        self.left = _MARGIN
        self.width = pdf.w - 2 * _MARGIN
        self.y = _MARGIN

    def ensure_room(self, height: float) -> None:
        if self.y + height > self.pdf.h - _MARGIN:
            self.pdf.add_page()
            self.y = _MARGIN

    def paragraph(self, text: str, size: float, bold: bool = False, gap: float = 2.0) -> None:
        block = self.setter.layout(text, self.width, size, bold)
        self.ensure_room(block.height)
        self.y = self.setter.draw(block, self.left, self.y, self.width) + gap

    def rule(self) -> None:
        self.pdf.set_draw_color(*_RULE)
        self.pdf.set_line_width(0.2)
        self.pdf.line(self.left, self.y, self.left + self.width, self.y)

    def columns(
        self,
        cells: list[tuple[str, float, bool, tuple[int, int, int]]],
        widths: list[float],
    ) -> None:
        """One table row: cells laid side by side in reading order, then a rule."""
        blocks = [
            self.setter.layout(text, width, size, bold)
            for (text, size, bold, _color), width in zip(cells, widths, strict=True)
        ]
        height = max(block.height for block in blocks) + 3.0
        self.ensure_room(height)
        top = self.y + 1.5
        largest = max(block.size for block in blocks)
        offset = 0.0
        for (_text, _size, _bold, color), block, width in zip(cells, blocks, widths, strict=True):
            x = self.left + self.width - offset - width if self.setter.rtl else self.left + offset
            # Smaller text sits lower so that the first lines share a baseline.
            shift = (largest - block.size) * _PT * 1.1
            self.setter.draw(block, x, top + shift, width, color)
            offset += width + _GUTTER
        self.y += height
        self.rule()


def render_pdf(view: ReceiptView) -> bytes:
    """The receipt as a PDF document (A4), in ``view``'s language and direction."""
    chain = font_chain(view.locale)
    require_font_file(chain[0])
    require_font_file(LATIN)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.c_margin = 0
    pdf.set_lang(view.lang)
    pdf.set_title(f"{view.title} {view.row('reference').value}")
    pdf.set_creator("Corridor")
    pdf.set_creation_date(view.created)  # reproducible: the same receipt, the same bytes
    pdf.add_page()
    rtl = view.direction == "rtl"
    page = _Page(pdf, _Typesetter(pdf, chain, rtl))

    page.paragraph(view.title, 20, bold=True, gap=1.0)
    page.paragraph(view.merchant, 13, gap=4.0)
    page.paragraph(view.intro, 10.5, gap=5.0)
    page.rule()
    value_width = page.width - _LABEL_WIDTH - _GUTTER
    for row in view.rows:
        page.columns(
            [(row.label, 9.5, False, _MUTED), (row.value, 10.5, row.emphasis, _TEXT)],
            [_LABEL_WIDTH, value_width],
        )

    if view.refunds:
        page.y += 6.0
        page.paragraph(view.refunds_heading, 13, bold=True, gap=1.0)
        page.paragraph(view.refunds_summary, 10, gap=3.0)
        column = (page.width - 2 * _GUTTER) / 3
        widths = [column, column, column]
        page.rule()
        page.columns([(label, 9.5, True, _MUTED) for label in view.refund_columns], widths)
        for refund in view.refunds:
            page.columns(
                [
                    (refund.date, 9.5, False, _TEXT),
                    (refund.amount, 9.5, False, _TEXT),
                    (refund.reference, 9.5, False, _TEXT),
                ],
                widths,
            )

    page.y += 6.0
    for line in view.closing:
        page.paragraph(line, 10.5)

    data = bytes(pdf.output())
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont) and font.missing_glyphs:
            chars = [chr(code) for code in font.missing_glyphs]
            raise MissingGlyphError(f"font {font.name} is missing glyphs for {chars!r}")
    return data
