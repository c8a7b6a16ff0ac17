"""The letter as HTML + CSS for WeasyPrint, laid out like ``letters/letter.py`` lays it out.

A4; margins 3 cm left, 2 cm right, 2 cm plus one line at the bottom; the head (ที่, the agency's
address, the date at the page's centre) on page 1; เรื่อง / เรียน / สิ่งที่ส่งมาด้วย with hanging
indents; justified body paragraphs indented 2.5 cm; the signature block centred under the
closing, which starts at the page's centre; ``- ๒ -`` page numbers from page 2 (``@page`` rules).
saraban's continuation words (คำต่อ) at the foot of each continued page have no CSS equivalent
and are left out.
"""

from __future__ import annotations

from html import escape

from bench.letter_parts import (
    BASELINE_DROP,
    FONT_DIR,
    FONT_FAMILY,
    FONT_SIZE,
    LABEL_GAP_EM,
    LAYOUT,
    SPACE_EM,
    Item,
    LetterParts,
)

# Pango puts the baseline (ascent 1.270 em, descent 0.687 em, centred in the line box) this far
# below the top of a 20.5 pt line; saraban puts it at BASELINE_DROP.
PANGO_BASELINE = LAYOUT.leading / 2 + FONT_SIZE * (1.270 - 0.687) / 2


def _pt(value: float) -> str:
    return f"{value:.2f}pt"


def _css(parts: LetterParts) -> str:
    lay = LAYOUT
    width = lay.page[0] - lay.left - lay.right
    # Bottom of the text block: saraban's frame ends one line above the 2 cm margin.
    bottom = lay.bottom + lay.leading
    # saraban's first baseline on later pages is BASELINE_DROP under ``later_top``.
    later_top = lay.later_top + BASELINE_DROP - PANGO_BASELINE
    first_top = lay.emblem_top
    head_height = lay.emblem_height - PANGO_BASELINE  # the ที่ line's baseline on the emblem's foot
    number_top = lay.emblem_top - PANGO_BASELINE  # page number baseline 1.5 cm from the top
    date_indent = lay.date_x - lay.left
    # Under the date: saraban's body frame starts 0.6 line under the date's baseline, and its
    # first baseline is BASELINE_DROP under that.
    subject_gap = 0.6 * lay.leading + BASELINE_DROP - lay.leading
    counter = "thai" if parts.thai_digits else "decimal"
    regular = (FONT_DIR / f"{FONT_FAMILY}.ttf").as_uri()
    bold = (FONT_DIR / f"{FONT_FAMILY}-Bold.ttf").as_uri()
    return f"""
@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{regular}"); font-weight: normal; }}
@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{bold}"); font-weight: bold; }}
@page {{
  size: A4;
  margin: {_pt(later_top)} {_pt(lay.right)} {_pt(bottom)} {_pt(lay.left)};
  @top-center {{
    content: "- " counter(page, {counter}) " -";
    vertical-align: top;
    padding-top: {_pt(number_top)};
    font: {_pt(FONT_SIZE)}/{_pt(lay.leading)} "{FONT_FAMILY}";
  }}
}}
@page :first {{
  margin-top: {_pt(first_top)};
  @top-center {{ content: none; }}
}}
html {{ font: {_pt(FONT_SIZE)}/{_pt(lay.leading)} "{FONT_FAMILY}"; color: black; }}
body {{ margin: 0; width: {_pt(width)}; }}
p {{ margin: 0; }}
.emblem {{ height: {_pt(head_height)}; text-align: center; }}
.emblem img {{ display: block; height: {_pt(lay.emblem_height)}; margin: 0 auto; }}
.refrow {{ display: flex; justify-content: space-between; }}
.date {{ padding-left: {_pt(date_indent)}; margin-bottom: {_pt(subject_gap)}; }}
table.labelled {{
  border-collapse: collapse; width: 100%; margin-bottom: {_pt(lay.paragraph_gap)};
}}
table.labelled td {{ padding: 0; vertical-align: top; text-align: left; }}
table.labelled td.label {{ white-space: nowrap; padding-right: {LABEL_GAP_EM:.3f}em; }}
table.labelled td.number {{ white-space: nowrap; padding-right: {SPACE_EM:.3f}em; }}
table.labelled td.text {{ width: 100%; }}
p.body {{
  text-align: justify; text-indent: {_pt(lay.body_indent)};
  margin-top: {_pt(lay.paragraph_gap * 2)}; orphans: 2; widows: 2;
}}
.signature {{
  break-inside: avoid; margin-top: {_pt(lay.leading * 0.5)}; margin-left: {_pt(date_indent)};
}}
.signature .closing {{ display: inline-block; }}
.signature .centred {{ width: 0; margin-left: 50%; }}
.signature .centred div {{ margin: 0 {_pt(-width / 2)}; text-align: center; }}
.signature .space {{ height: {_pt(lay.signature_space * lay.leading)}; }}
.unit {{ margin-top: {_pt(lay.leading)}; }}
"""


def _labelled(label: str, text: str) -> str:
    return (
        f'<table class="labelled"><tr><td class="label">{escape(label)}</td>'
        f'<td class="text">{escape(text)}</td></tr></table>'
    )


def _items(items: tuple[Item, ...]) -> str:
    if len(items) == 1:
        return _labelled(items[0].label, items[0].text)
    rows = "".join(
        f'<tr><td class="label">{escape(item.label)}</td><td class="number">{escape(item.number)}'
        f'</td><td class="text">{escape(item.text)}</td></tr>'
        for item in items
    )
    return f'<table class="labelled items">{rows}</table>'


def letter_html(parts: LetterParts) -> str:
    """A complete HTML document; font URLs are absolute, so no base URL is needed."""
    # The emblem's box ends where the ที่ line's box starts; the image, 3 cm tall from 1.5 cm,
    # overhangs it down to that line's baseline, as in saraban.
    emblem = f'<img src="{parts.emblem.as_uri()}" alt="">' if parts.emblem else ""
    address = "<br>".join(escape(line) for line in parts.address_lines)
    story = [
        _labelled("เรื่อง", parts.subject),
        _labelled("เรียน", parts.to),
    ]
    if parts.references:
        story.append(_items(parts.references))
    if parts.enclosures:
        story.append(_items(parts.enclosures))
    story += [f'<p class="body">{escape(p)}</p>' for p in parts.body]
    signature = "".join(f"<div>{escape(line)}</div>" for line in parts.signature)
    story.append(
        f'<div class="signature"><div class="closing">{escape(parts.closing)}'
        f'<div class="centred"><div class="space"></div>{signature}</div></div></div>'
    )
    if parts.unit_lines:
        story.append(f'<p class="unit">{"<br>".join(escape(u) for u in parts.unit_lines)}</p>')
    return f"""<!DOCTYPE html>
<html lang="th"><head><meta charset="utf-8"><title>{escape(parts.title)}</title>
<style>{_css(parts)}</style></head>
<body>
<div class="emblem">{emblem}</div>
<div class="refrow"><div>{escape(parts.reference)}</div><div>{address}</div></div>
<div class="date">{escape(parts.date)}</div>
{"".join(story)}
</body></html>
"""
