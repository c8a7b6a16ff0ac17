"""The letter as Typst source, laid out like ``letters/letter.py`` lays it out.

Every line box is 20.5 pt with its baseline 16 pt down (``top-edge``/``bottom-edge`` and zero
leading), which is saraban's line model; paragraph gaps are explicit ``v()``. The page number
``- ๒ -`` is a header from page 2. saraban's continuation words (คำต่อ) are left out, as in the
HTML version. All text goes in as Typst string literals, so no markup character in a letter can
change the layout.
"""

from __future__ import annotations

from bench.letter_parts import (
    BASELINE_DROP,
    FONT_FAMILY,
    FONT_SIZE,
    LABEL_GAP_EM,
    LAYOUT,
    SPACE_EM,
    THAI_DIGITS,
    Item,
    LetterParts,
)


def _pt(value: float) -> str:
    return f"{value:.2f}pt"


def _s(text: str) -> str:
    """A Typst string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _labelled(items: tuple[Item, ...]) -> str:
    if len(items) == 1 and not items[0].number:
        cells = f"{_s(items[0].label)}, {_s(items[0].text)}"
        return f"#grid(columns: (auto, 1fr), column-gutter: {LABEL_GAP_EM:.3f}em, {cells})\n"
    cells = ", ".join(f"{_s(i.label)}, {_s(i.number)}, {_s(i.text)}" for i in items)
    return (
        "#grid(columns: (auto, auto, 1fr), "
        f"column-gutter: ({LABEL_GAP_EM:.3f}em, {SPACE_EM:.3f}em), {cells})\n"
    )


def letter_typst(parts: LetterParts) -> str:
    lay = LAYOUT
    width = lay.page[0] - lay.left - lay.right
    date_indent = lay.date_x - lay.left
    descent = lay.leading - BASELINE_DROP
    # The header's line box ends ``header-ascent`` above the text block; its baseline is
    # ``descent`` above that, 1.5 cm from the page's top edge.
    header_ascent = lay.later_top - lay.emblem_top - descent
    digits = "(" + ", ".join(_s(d) for d in THAI_DIGITS) + ",)"
    number = (
        f"str(n).clusters().map(d => {digits}.at(int(d))).join()" if parts.thai_digits
        else "str(n)"
    )
    out = [
        f"#set document(title: {_s(parts.title)})\n",
        f"#set page(paper: \"a4\", margin: (left: {_pt(lay.left)}, right: {_pt(lay.right)}, "
        f"top: {_pt(lay.later_top)}, bottom: {_pt(lay.bottom + lay.leading)}), "
        f"header-ascent: {_pt(header_ascent)}, header: context {{\n"
        "  let n = here().page()\n"
        f"  if n > 1 {{ align(center, \"- \" + {number} + \" -\") }}\n"
        "})\n",
        f"#set text(font: {_s(FONT_FAMILY)}, lang: \"th\", size: {_pt(FONT_SIZE)}, "
        f"top-edge: {_pt(BASELINE_DROP)}, bottom-edge: {_pt(-descent)})\n",
        "#set par(leading: 0pt, spacing: 0pt, justify: false)\n",
        "#set block(spacing: 0pt)\n",
        "#set grid(row-gutter: 0pt)\n",
        # Page 1: ที่ sits on the emblem's foot, 4.5 cm from the top edge.
        f"#v({_pt(lay.emblem_top + lay.emblem_height - lay.later_top - BASELINE_DROP)})\n",
    ]
    if parts.emblem:
        out.append(
            f"#place(top + center, dy: {_pt(lay.emblem_top - lay.later_top)}, "
            f"image({_s(str(parts.emblem))}, height: {_pt(lay.emblem_height)}))\n"
        )
    address = " + linebreak() + ".join(_s(line) for line in parts.address_lines)
    out += [
        f"#grid(columns: (1fr, auto), {_s(parts.reference)}, {address})\n",
        f"#pad(left: {_pt(date_indent)}, {_s(parts.date)})\n",
        # The body frame starts 0.6 line under the date's baseline (see letters/letter.py).
        f"#v({_pt(0.6 * lay.leading + BASELINE_DROP - lay.leading)})\n",
        _labelled((Item("เรื่อง", "", parts.subject),)),
        f"#v({_pt(lay.paragraph_gap)}, weak: true)\n",
        _labelled((Item("เรียน", "", parts.to),)),
        f"#v({_pt(lay.paragraph_gap)}, weak: true)\n",
    ]
    if parts.references:
        out.append(_labelled(parts.references))
    if parts.enclosures:
        out.append(_labelled(parts.enclosures))
    for paragraph in parts.body:
        out.append(
            f"#v({_pt(lay.paragraph_gap * 2)}, weak: true)\n"
            f"#par(justify: true, first-line-indent: (amount: {_pt(lay.body_indent)}, all: true), "
            f"{_s(paragraph)})\n"
        )
    # The signature: centred on the closing, which starts at the page's centre; kept together.
    lines = ", ".join(_s(line) for line in parts.signature)
    out.append(
        f"#v({_pt(lay.leading * 0.5)})\n"
        "#context {\n"
        f"  let closing = {_s(parts.closing)}\n"
        f"  let axis = {_pt(date_indent)} + measure(closing).width / 2\n"
        f"  let half = calc.min(axis, {_pt(width)} - axis)\n"
        "  block(breakable: false, pad(left: axis - half, block(width: 2 * half, "
        "align(center, stack(\n"
        f"    closing, v({_pt(lay.signature_space * lay.leading)}), {lines})))))\n"
        "}\n"
    )
    if parts.unit_lines:
        unit = " + linebreak() + ".join(_s(line) for line in parts.unit_lines)
        out.append(f"#v({_pt(lay.leading)})\n#par({unit})\n")
    return "".join(out)

