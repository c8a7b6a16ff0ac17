"""QR-code sheets: codes that phones read, drawn as vectors, with captions and URLs as text."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp
from reportlab.lib.units import mm

from letters.letterfile import LetterFileError
from letters.qrsheet import (
    MIN_MODULE,
    QUIET_ZONE,
    QREntry,
    QRSheet,
    _make_cell,
    dark_runs,
    load_qr_sheet,
    qr_matrix,
    render_qr_sheet,
)
from tests.support.pdftext import squash

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "emvs-2569" / "qr-sheet.toml"
DPI = 150
LONG_URL = "https://example.org/emvs-2569/tools/form?" + "&".join(
    f"field{n}=value-{n:03d}" for n in range(14)
)


@pytest.fixture(scope="module")
def example() -> QRSheet:
    return load_qr_sheet(EXAMPLE)


@pytest.fixture(scope="module")
def example_pdf(example: QRSheet) -> bytes:
    return render_qr_sheet(example)


@pytest.fixture(scope="module")
def five() -> QRSheet:
    captions = [
        "แผนการติดตามการขับเคลื่อน การจัดการอาชีวศึกษา ปีงบประมาณ พ.ศ. 2569",
        "เครื่องมือที่ใช้ในการเก็บข้อมูล การขับเคลื่อนการจัดการอาชีวศึกษา ปีงบประมาณ พ.ศ. 2569",
        "คู่มือการใช้งานระบบ e-MVS สำหรับสถานศึกษา",
        "แบบบันทึกข้อมูลการขับเคลื่อนการจัดการอาชีวศึกษา (ลิงก์ยาว)",
        "กลุ่มไลน์โอเพนแชท “รายงานผลการดำเนินงานของสถานศึกษา”",
    ]
    urls = [
        "https://example.org/emvs-2569/plan",
        "https://example.org/emvs-2569/tools",
        "http://emvs.example.org/manual.pdf",
        LONG_URL,
        "https://example.org/line/openchat",
    ]
    entries = tuple(QREntry(c, u) for c, u in zip(captions, urls, strict=True))
    return QRSheet("QR Code ประกอบหนังสือ", entries, note="สแกนด้วยกล้องโทรศัพท์มือถือ")


@pytest.fixture(scope="module")
def five_pdf(five: QRSheet) -> bytes:
    return render_qr_sheet(five)


def _decode_pages(pdf: bytes) -> list[list[zxingcpp.Barcode]]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        pages = []
        for page in doc:
            image = page.render(scale=DPI / 72).to_pil()
            pages.append(list(zxingcpp.read_barcodes(image)))
        return pages
    finally:
        doc.close()


def _texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_example_file_reproduces_the_seed_sheet(example: QRSheet) -> None:
    assert example.title == (
        "แผนการติดตามและเครื่องมือที่ใช้ในการเก็บข้อมูล การขับเคลื่อนการจัดการอาชีวศึกษา "
        "ปีงบประมาณ พ.ศ. 2569"
    )
    assert [e.caption for e in example.entries] == [
        "แผนการติดตามการขับเคลื่อน การจัดการอาชีวศึกษา ปีงบประมาณ พ.ศ. 2569",
        "เครื่องมือที่ใช้ในการเก็บข้อมูล การขับเคลื่อนการจัดการอาชีวศึกษา ปีงบประมาณ พ.ศ. 2569",
    ]
    assert all(e.url.startswith("https://example.org/") for e in example.entries)
    assert "placeholder" in EXAMPLE.read_text(encoding="utf-8").lower()


def test_example_codes_decode_to_their_urls(example: QRSheet, example_pdf: bytes) -> None:
    pages = _decode_pages(example_pdf)
    assert len(pages) == 1
    found = [b.text for b in pages[0] if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert sorted(found) == sorted(e.url for e in example.entries)


def test_many_entries_paginate_and_all_decode(five: QRSheet, five_pdf: bytes) -> None:
    pages = _decode_pages(five_pdf)
    assert len(pages) >= 2
    found = [b.text for page in pages for b in page]
    assert sorted(found) == sorted(e.url for e in five.entries)
    # Entries keep their order: each page's codes come after the previous page's.
    order = [e.url for e in five.entries]
    per_page = [sorted(order.index(b.text) for b in page) for page in pages]
    flat = [i for page in per_page for i in page]
    assert flat == sorted(flat)


@pytest.mark.parametrize("which", ["example", "five"])
def test_codes_are_vectors_not_images(which: str, request: pytest.FixtureRequest) -> None:
    pdf: bytes = request.getfixturevalue(f"{which}_pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))

    def images(resources: pypdf.generic.DictionaryObject | None) -> int:
        if not resources or "/XObject" not in resources:
            return 0
        count = 0
        for xobject in resources["/XObject"].values():
            xobject = xobject.get_object()
            if xobject["/Subtype"] == "/Image":
                count += 1
            elif xobject["/Subtype"] == "/Form":
                count += images(xobject.get("/Resources"))
        return count

    for page in reader.pages:
        assert images(page.get("/Resources")) == 0
        content = page.get_contents().get_data()
        assert b" re\n" in content or b" re " in content  # the modules, as rectangles
    assert b"/Subtype /Image" not in pdf


@pytest.mark.parametrize("which", ["example", "five"])
def test_title_captions_and_urls_are_in_the_text_layer(
    which: str, request: pytest.FixtureRequest
) -> None:
    sheet: QRSheet = request.getfixturevalue(which)
    pdf: bytes = request.getfixturevalue(f"{which}_pdf")
    text = squash("".join(_texts(pdf)))
    assert squash(sheet.title) in text
    if sheet.note:
        assert squash(sheet.note) in text
    position = 0
    for entry in sheet.entries:
        # Captions and URLs wrap over lines; in order, each caption before its URL.
        caption_at = text.find(squash(entry.caption), position)
        assert caption_at >= 0, entry.caption
        url_at = text.find(squash(entry.url), caption_at)
        assert url_at >= 0, entry.url
        position = url_at


def test_quiet_zone_is_white(example_pdf: bytes) -> None:
    doc = pypdfium2.PdfDocument(example_pdf)
    try:
        image = doc[0].render(scale=DPI / 72).to_pil().convert("L")
    finally:
        doc.close()
    barcodes = list(zxingcpp.read_barcodes(image))
    assert barcodes
    for barcode in barcodes:
        pos = barcode.position
        left, top = pos.top_left.x, pos.top_left.y
        right, bottom = pos.bottom_right.x, pos.bottom_right.y
        modules = len(qr_matrix(barcode.text)) - 2 * QUIET_ZONE
        px = (right - left) / modules
        inner, outer = int(px), int(px * (QUIET_ZONE - 0.5))
        strips = [
            (left - outer, top - outer, right + outer, top - inner),  # above
            (left - outer, bottom + inner, right + outer, bottom + outer),  # below
            (left - outer, top, left - inner, bottom),  # left
            (right + inner, top, right + outer, bottom),  # right
        ]
        for box in strips:
            assert image.crop(box).getextrema()[0] > 200, (barcode.text, box)


def test_module_size_stays_readable(five: QRSheet) -> None:
    from letters.fonts import load_family
    from letters.qrsheet import QRSheetLayout

    layout = QRSheetLayout()
    for entry in five.entries:
        cell = _make_cell(entry, load_family(), layout)
        assert cell.module >= MIN_MODULE - 1e-9
        assert cell.module >= 0.8 * mm - 1e-9
        assert cell.side <= layout.text_width


def test_dark_runs_merge_horizontal_neighbours() -> None:
    matrix = [
        [False, True, True, False, True],
        [True, True, True, True, True],
        [False, False, False, False, False],
    ]
    assert dark_runs(matrix) == [(0, 1, 2), (0, 4, 1), (1, 0, 5)]


def test_qr_matrix_has_the_quiet_zone() -> None:
    matrix = qr_matrix("https://example.org/")
    n = len(matrix)
    assert all(len(row) == n for row in matrix)
    for k in range(QUIET_ZONE):
        assert not any(matrix[k]) and not any(matrix[n - 1 - k])
        assert not any(row[k] or row[n - 1 - k] for row in matrix)


def test_entries_check_their_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        QREntry("คำอธิบาย", "ftp://example.org/file")
    with pytest.raises(ValueError, match="spaces"):
        QREntry("คำอธิบาย", "https://example.org/a b")
    with pytest.raises(ValueError, match="at least one"):
        QRSheet("หัวเรื่อง", ())


# --------------------------------------------------------------------------------------------
# TOML errors name the file, the key and its line.


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> LetterFileError:
    path = _write(tmp_path, text)
    with pytest.raises(LetterFileError) as info:
        load_qr_sheet(path)
    err = info.value
    assert err.path == path
    assert str(path) in str(err)
    return err


GOOD_ENTRY = '[[entry]]\ncaption = "แผนการติดตาม"\nurl = "https://example.org/plan"\n'


def test_loads_a_good_file(tmp_path: Path) -> None:
    sheet = load_qr_sheet(_write(tmp_path, f'title = "หัวเรื่อง"\nnote = "หมายเหตุ"\n{GOOD_ENTRY}'))
    assert sheet.title == "หัวเรื่อง" and sheet.note == "หมายเหตุ"
    assert sheet.entries == (QREntry("แผนการติดตาม", "https://example.org/plan"),)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = _error(tmp_path, f'title = "หัวเรื่อง"\ntitel = "พิมพ์ผิด"\n{GOOD_ENTRY}')
    assert err.key == "titel" and err.line == 2
    assert "unknown key" in str(err) and ":2:" in str(err)


def test_unknown_entry_key(tmp_path: Path) -> None:
    text = (
        f'title = "หัวเรื่อง"\n{GOOD_ENTRY}\n'
        '[[entry]]\ncaption = "เครื่องมือ"\nurl = "https://example.org/tools"\n'
        'link = "https://example.org/x"\n'
    )
    err = _error(tmp_path, text)
    assert err.key == "entry[2].link" and err.line == 9
    assert "unknown key" in err.message


def test_non_http_url(tmp_path: Path) -> None:
    text = (
        f'title = "หัวเรื่อง"\n{GOOD_ENTRY}\n'
        '[[entry]]\ncaption = "เครื่องมือ"\nurl = "ftp://example.org/tools"\n'
    )
    err = _error(tmp_path, text)
    assert err.key == "entry[2].url" and err.line == 8
    assert "http" in err.message


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "example.org/plan", "https://", "https://exa mple.org/"]
)
def test_bad_urls(tmp_path: Path, url: str) -> None:
    err = _error(tmp_path, f'title = "หัวเรื่อง"\n[[entry]]\ncaption = "ก"\nurl = "{url}"\n')
    assert err.key == "entry[1].url" and err.line == 4


def test_missing_caption_names_the_entry(tmp_path: Path) -> None:
    text = f'title = "หัวเรื่อง"\n{GOOD_ENTRY}\n[[entry]]\nurl = "https://example.org/tools"\n'
    err = _error(tmp_path, text)
    assert err.key == "entry[2].caption" and err.line == 6  # the entry's [[entry]] line
    assert "required" in err.message


def test_empty_caption(tmp_path: Path) -> None:
    err = _error(tmp_path, 'title = "หัวเรื่อง"\n[[entry]]\ncaption = "  "\nurl = "https://e.org"\n')
    assert err.key == "entry[1].caption" and err.line == 3


def test_missing_title_and_entries(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD_ENTRY)
    assert err.key == "title"
    err = _error(tmp_path, 'title = "หัวเรื่อง"\n')
    assert err.key == "entry"


def test_wrong_type_for_title(tmp_path: Path) -> None:
    err = _error(tmp_path, f"title = 2569\n{GOOD_ENTRY}")
    assert err.key == "title" and err.line == 1


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    err = _error(tmp_path, f'title = "หัวเรื่อง"\n{GOOD_ENTRY}url = \n')
    assert err.line == 5 and "invalid TOML" in err.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LetterFileError, match="file not found"):
        load_qr_sheet(tmp_path / "nope.toml")
