"""The PDF text layer gives back exactly the Thai that was typeset, whatever the shaping did."""

from __future__ import annotations

import io
import unicodedata

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from letters.fonts import load_family
from letters.pdfglyphs import draw_text
from tests.support.pdftext import EXTRACTORS, lines

TONES = ["\u0e48", "\u0e49", "\u0e4a", "\u0e4b"]  # ่ ้ ๊ ๋
UPPER = ["", "\u0e34", "\u0e35", "\u0e36", "\u0e37", "\u0e31", "\u0e47"]  # ิ ี ึ ื ั ็
LOWER = ["\u0e38", "\u0e39"]  # ุ ู
SHORT = "กนมสอบด"
TALL = "ปฝฟฬ"  # ascenders collide with upper marks: the font shifts marks left
DESCENDING = "ฎฏฐญฤ"  # tails collide with lower vowels: the font swaps or lowers


def _corpus() -> list[str]:
    lines_: list[str] = []
    for base in SHORT + TALL + DESCENDING:
        syllables = []
        for tone in ["", *TONES]:
            for upper in UPPER:
                if upper == "\u0e47" and tone:
                    continue  # mai taikhu takes no tone mark
                syllables.append(base + upper + tone)
            for lower in LOWER:
                syllables.append(base + lower + tone)
            syllables.append(base + tone + "\u0e33")  # ำ after a tone mark: น้ำ
            syllables.append(base + tone + "\u0e32")
        lines_.append(" ".join(syllables[:18]))
        lines_.append(" ".join(syllables[18:]))
    lines_ += [
        "น้ำ ค่ำ ต่ำ ซ้ำ กล้ำ ย้ำ ช้ำ น้ำใจ สำนักงาน กำหนด ดำเนินการ จำนวน",
        "ปู่ ปุ้ย ญี่ปุ่น ฐานะ กฎหมาย ฎีกา ปฏิบัติ ปิ๊ป ฟื้นฟู ฝั่ง ฝ้าย ฟ้อง",
        "ภาษาไทย ศักดิ์สิทธิ์ พระพุทธเจ้า ฤๅษี ฦๅ กรุงเทพฯ ต่างๆ บ่อยๆ",
        "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง รักษาการในตำแหน่ง ปฏิบัติราชการแทน",
        "๑๐ เมษายน ๒๕๖๙ 20 เม.ย. 69 e-MVS (electronic Monitoring) URL : emvs.ovec.go.th",
        "“รายงานผลการดำเนินงานของสถานศึกษา” ศธ ๐๖๐๓/ว ๕๕๕๓",
    ]
    return [unicodedata.normalize("NFC", line) for line in lines_]


CORPUS = _corpus()


def _render(corpus: list[str], style: str) -> bytes:
    family = load_family()
    font = getattr(family, style)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    y = A4[1] - 50
    for line in corpus:
        if y < 50:
            canvas.showPage()
            y = A4[1] - 50
        draw_text(canvas, font, 11, 30, y, line)
        y -= 20
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def test_corpus_covers_every_tone_mark_on_short_and_tall_consonants() -> None:
    text = "".join(CORPUS)
    for tone in TONES:
        for base in SHORT[:2] + TALL:
            assert base + tone in text
            assert base + tone + "\u0e33" in text
        assert "ป" + "\u0e35" + tone in text


@pytest.mark.parametrize("extractor", EXTRACTORS)
@pytest.mark.parametrize("style", ["regular", "bold", "italic", "bolditalic"])
def test_every_line_extracts_exactly(extractor: str, style: str) -> None:
    pdf = _render(CORPUS, style)
    got = [line.strip() for line in lines(pdf, extractor) if line.strip()]
    assert got == CORPUS


def test_sara_am_stays_one_character_and_tone_marks_survive() -> None:
    pdf = _render(["น้ำ สำนักงาน ค่ำ"], "regular")
    for extractor in EXTRACTORS:
        text = lines(pdf, extractor)[0]
        assert "\u0e4d" not in text  # no stray NIKHAHIT from the split SARA AM
        assert text.count("\u0e33") == 3
        assert "\ue000" not in text and not any("\uf700" <= c <= "\uf8ff" for c in text)


def test_stock_reportlab_would_lose_marks_here() -> None:
    """Guard that the corpus exercises the trap: the shaped glyphs are not the characters."""
    font = load_family().regular
    shaped = font.shape("ปุ่น")
    nominal = [font.rl.face.glyphToChar.get(g.gid, [0])[0] for g in shaped.glyphs]
    assert [chr(c) for c in nominal if c] != list("ปุ่น")
