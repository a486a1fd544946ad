"""Line layout for PDF text that mixes fonts, scripts and directions.

A receipt line such as an Arabic label around a Latin brand name and a euro amount
needs three things a single ``cell()`` call cannot give: the text split into runs
that one font can draw each (:func:`font_runs`), wrapped at legal break points to a
column width (:func:`wrap`), and the runs of each line put in visual order for the
paragraph's direction (:func:`visual_order`). Shaping and bidi *inside* a run are
left to HarfBuzz through fpdf2; this module only decides where runs start and end and
in which order they stand, following the Unicode bidi algorithm at run granularity.

Everything here is pure: fonts enter as sets of code points, widths through a
``measure`` callback, so the layout rules are tested without a PDF.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, replace

# Characters that must not begin a line in CJK text (kinsoku shori, the common core).
_NO_LINE_START = frozenset("、。，．・：；？！）」』】〕〉》〙〗～ー％,.:;!?)]}%")


class UncoveredText(ValueError):
    """No font in the chain covers some characters of a text."""

    def __init__(self, text: str, missing: list[str]) -> None:
        super().__init__(f"no font covers {missing!r} in {text!r}")
        self.text = text
        self.missing = missing


@dataclass(frozen=True, slots=True)
class Run:
    """Text drawn with one font (an index into the font chain) in one direction.

    ``rtl`` is ``None`` for runs without strongly directional characters (digits,
    punctuation, spaces); :func:`visual_order` resolves them from their neighbours.
    """

    text: str
    font: int
    rtl: bool | None


def _ignorable(ch: str) -> bool:
    """Format characters (bidi marks, joiners) are not drawn, so need no glyph."""
    return unicodedata.category(ch) == "Cf"


def direction_of(text: str) -> bool | None:
    """``True`` if the first strong character is right-to-left, ``False`` if
    left-to-right, ``None`` if there is none."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return None


def font_runs(text: str, coverages: Sequence[Container[int] | None]) -> list[Run]:
    """Split ``text`` into runs, each drawable by one font of the chain.

    ``coverages[i]`` is the set of code points font ``i`` maps (``None``: not
    installed). A text one font fully covers stays whole, in the first such font, so
    shaping and bidi see it entire; otherwise each character goes to the current run's
    font if it can, else to the first font that can. Raises :class:`UncoveredText`
    listing every character no font covers.
    """
    if not text:
        return []
    needed = [ord(ch) for ch in text if not _ignorable(ch)]
    for index, cover in enumerate(coverages):
        if cover is not None and all(code in cover for code in needed):
            return [Run(text, index, direction_of(text))]

    runs: list[Run] = []
    missing: list[str] = []
    current: int | None = None
    buffer: list[str] = []
    for ch in text:
        cover = coverages[current] if current is not None else None
        if _ignorable(ch) or (cover is not None and ord(ch) in cover):
            buffer.append(ch)
            continue
        choice = next((i for i, c in enumerate(coverages) if c is not None and ord(ch) in c), None)
        if choice is None:
            missing.append(ch)
            continue
        if current is not None and buffer:
            chunk = "".join(buffer)
            runs.append(Run(chunk, current, direction_of(chunk)))
            buffer = []
        current = choice
        buffer.append(ch)
    if missing:
        raise UncoveredText(text, missing)
    if buffer:
        chunk = "".join(buffer)
        runs.append(Run(chunk, current if current is not None else 0, direction_of(chunk)))
    return runs


def _clusters(text: str) -> list[str]:
    """Grapheme-ish clusters: a base character with its combining marks and joiners."""
    clusters: list[str] = []
    for ch in text:
        joins = unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in "\u200d\u200c"
        if clusters and (joins or clusters[-1].endswith("\u200d")):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch)[0] == "L"


def break_pieces(text: str) -> list[str]:
    """Split at line-break opportunities: after spaces, and around CJK characters.

    Spaces stay at the end of the piece before them. A CJK closing mark never starts a
    piece. Scripts written without spaces and without CJK (Thai) break only at the
    spaces they do have; :func:`wrap` splits an overlong piece by clusters.
    """
    pieces: list[str] = []
    current = ""
    for cluster in _clusters(text):
        first = cluster[0]
        boundary = bool(current) and (
            (current[-1].isspace() and not first.isspace())
            or ((_wide(first) or _wide(current[-1])) and first not in _NO_LINE_START)
        )
        if boundary:
            pieces.append(current)
            current = ""
        current += cluster
    if current:
        pieces.append(current)
    return pieces


Measure = Callable[[Run], float]


def _merge(line: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in line:
        if merged and merged[-1].font == run.font:
            text = merged[-1].text + run.text
            merged[-1] = Run(text, run.font, direction_of(text))
        else:
            merged.append(run)
    return merged


def _split_overlong(piece: Run, width: float, measure: Measure) -> list[Run]:
    chunks: list[Run] = []
    current = ""
    for cluster in _clusters(piece.text):
        candidate = current + cluster
        if current and measure(replace(piece, text=candidate)) > width:
            chunks.append(replace(piece, text=current))
            current = cluster
        else:
            current = candidate
    if current:
        chunks.append(replace(piece, text=current))
    return chunks


def wrap(runs: Sequence[Run], width: float, measure: Measure) -> list[list[Run]]:
    """Greedy line filling of ``runs`` into lines no wider than ``width``.

    Lines are in logical order; adjacent pieces in the same font are merged back into
    one run so that each is shaped as a whole. Trailing spaces do not count towards a
    line's width and are dropped at line ends.
    """
    pieces = [replace(run, text=p) for run in runs for p in break_pieces(run.text)]
    lines: list[list[Run]] = []
    line: list[Run] = []
    used = 0.0
    for piece in pieces:
        visible = replace(piece, text=piece.text.rstrip())
        needed = measure(visible) if visible.text else 0.0
        if line and used + needed > width:
            lines.append(line)
            line, used = [], 0.0
        if not line and not visible.text:
            continue  # no line starts with a space
        if not line and needed > width:
            *full, last = _split_overlong(piece, width, measure)
            lines.extend([chunk] for chunk in full)
            piece = last
        line.append(piece)
        used += measure(piece)
    if line:
        lines.append(line)
    result = []
    for raw in lines:
        merged = _merge(raw)
        tail = merged[-1]
        stripped = tail.text.rstrip()
        merged[-1] = replace(tail, text=stripped) if stripped else tail
        result.append([run for run in merged if run.text])
    return [line for line in result if line]


def _resolve(runs: Sequence[Run], base_rtl: bool) -> list[bool]:
    """Direction of each run; neutral runs take their neighbours' if both agree."""
    strong = [run.rtl for run in runs]
    resolved: list[bool] = []
    for i, value in enumerate(strong):
        if value is not None:
            resolved.append(value)
            continue
        before = next((s for s in reversed(strong[:i]) if s is not None), base_rtl)
        after = next((s for s in strong[i + 1 :] if s is not None), base_rtl)
        resolved.append(before if before == after else base_rtl)
    return resolved


def _neutral(ch: str) -> bool:
    return unicodedata.category(ch) in ("Zs", "Po") and unicodedata.bidirectional(ch) in (
        "WS",
        "ON",
        "CS",
    )


def _edges(text: str) -> tuple[str, str, str]:
    """Split neutral leading and trailing characters off ``text``."""
    start, end = 0, len(text)
    while start < end and _neutral(text[start]):
        start += 1
    while end > start and _neutral(text[end - 1]):
        end -= 1
    return text[:start], text[start:end], text[end:]


def visual_order(runs: Sequence[Run], base_rtl: bool) -> list[Run]:
    """Runs of one line, left to right as drawn, each with its direction resolved.

    In a right-to-left paragraph, consecutive left-to-right runs keep their order as
    one embedded sequence and the sequences are laid out from the right; in a
    left-to-right paragraph, the mirror image.
    """
    directions = _resolve(runs, base_rtl)
    resolved: list[Run] = []
    for i, (run, direction) in enumerate(zip(runs, directions, strict=True)):
        if direction == base_rtl:
            resolved.append(replace(run, rtl=direction))
            continue
        # Spaces and sentence punctuation at the edges of an embedded sequence belong to
        # the paragraph's direction (UBA rules N1/N2), so "Visa " in Arabic keeps its
        # space on the correct side and a final full stop goes to the end of the sentence.
        head, body, tail = _edges(run.text)
        if i > 0 and directions[i - 1] == direction:
            head, body = "", head + body
        if i + 1 < len(runs) and directions[i + 1] == direction:
            body, tail = body + tail, ""
        resolved.extend(
            replace(run, text=text, rtl=rtl)
            for text, rtl in ((head, base_rtl), (body, direction), (tail, base_rtl))
            if text
        )
    groups: list[list[Run]] = []
    for run in resolved:
        embedded = run.rtl != base_rtl
        if groups and embedded and groups[-1][0].rtl != base_rtl:
            groups[-1].append(run)
        else:
            groups.append([run])
    if base_rtl:
        # Groups laid out from the right; an embedded left-to-right group keeps its order.
        return [run for group in reversed(groups) for run in group]
    return [run for group in groups for run in (reversed(group) if group[0].rtl else group)]
