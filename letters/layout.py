"""The regulation's measures for letters and memos on A4, in points.

Sizes are nominal TH SarabunPSK points; a font family prints them at its own scale
(``fonts/families.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm


@dataclass(frozen=True)
class LetterLayout:
    """Where the parts of a letter or memo go, in points; sizes nominal."""

    page: tuple[float, float] = A4
    left: float = 30 * mm
    right: float = 20 * mm
    bottom: float = 20 * mm
    emblem_top: float = 15 * mm  # from the page's top edge
    emblem_height: float = 30 * mm  # a letter's; centred
    later_top: float = 25 * mm  # body top on pages after the first, below the page number
    date_x: float = 105 * mm  # the date starts at the page's centre
    size: float = 16.0
    leading: float = 20.5
    urgency_size: float = 32.0
    body_indent: float = 25 * mm
    paragraph_gap: float = 4.0
    signature_space: float = 3  # blank lines for the hand signature
    # The internal memo (บันทึกข้อความ): a small emblem at the top left, the heading centred on
    # its line, then labels in bold, larger than the body.
    memo_emblem_height: float = 15 * mm
    memo_heading_size: float = 29.0
    memo_label_size: float = 20.0
    # A memo's urgency goes on the emblem's line, right of the space kept for the emblem and
    # left of the heading (the top right is where a receiving office puts its stamp).
    memo_urgency_x: float = 48 * mm
    # Secrecy class (ชั้นความลับ): red, bold, larger than the text, centred at the top and the
    # bottom of every page. Baselines from the top and bottom edges: above the page number
    # (15 mm) and below the continuation words (20 mm).
    secrecy_size: float = 20.0
    secrecy_top: float = 10 * mm
    secrecy_bottom: float = 8 * mm

    @property
    def text_width(self) -> float:
        return self.page[0] - self.left - self.right

    @property
    def emblem_bottom_y(self) -> float:
        return self.page[1] - self.emblem_top - self.emblem_height

    @property
    def memo_emblem_bottom_y(self) -> float:
        return self.page[1] - self.emblem_top - self.memo_emblem_height

    @property
    def memo_label_leading(self) -> float:
        """A line whose label is set at ``memo_label_size``: the body's leading, scaled."""
        return self.leading * self.memo_label_size / self.size
