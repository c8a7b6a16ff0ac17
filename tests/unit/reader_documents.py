"""The documents every PDF reader must read back exactly: the seed letter, a Thai letter of three
pages and more, the example memo, a two-page secret and urgent memo signed digitally,
credential slips, the QR sheet, an annotated letter and a six-college ``print-all.pdf`` made by
the real ``saraban mailout`` command; and the seed letter signed digitally (PAdES)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from letters.annotation import NoteBlock, ReceiptStamp, annotate
from letters.letter import render_letter
from letters.letterfile import load_letter_file
from letters.model import Enclosure, Letter
from letters.qrsheet import load_qr_sheet, render_qr_sheet
from letters.slip import Slip, render_slips

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "emvs-2569"
MEMO = ROOT / "examples" / "memo" / "memo.toml"

# Administrative Thai in a circular's register: long compounds, numbers, Latin words, quotes,
# parentheses, and marks on tall consonants (ปี เป้า ปฏิบัติ ฝ่าย ฟื้นฟู).
EXTRA_PARAGRAPHS = (
    "ตามที่กระทรวงศึกษาธิการได้มอบหมายให้สำนักงานคณะกรรมการการอาชีวศึกษาเร่งรัดการพัฒนาคุณภาพ"
    "การจัดการเรียนการสอนในระบบทวิภาคี เพื่อผลิตกำลังคนที่มีสมรรถนะตรงตามความต้องการของสถานประกอบการ"
    " และสอดคล้องกับยุทธศาสตร์ชาติ ระยะ 20 ปี (พ.ศ. 2561 - 2580) นั้น",
    "ในการนี้ ขอให้สถานศึกษาจัดทำรายงานผลการดำเนินงานตามแบบฟอร์มที่กำหนด ประกอบด้วยข้อมูลจำนวนผู้เรียน"
    " จำนวนครูฝึกในสถานประกอบการ ผลการประเมินความพึงพอใจของผู้ใช้ผลผลิต และปัญหาอุปสรรคพร้อมข้อเสนอแนะ"
    " แล้วนำเข้าข้อมูลในระบบสารสนเทศเพื่อการบริหารจัดการภายในวันที่ 31 พฤษภาคม 2569",
    "ทั้งนี้ สถานศึกษาที่ได้รับการคัดเลือกเป็นสถานศึกษาต้นแบบจะได้รับการสนับสนุนงบประมาณสำหรับการพัฒนา"
    "ห้องปฏิบัติการ การจัดซื้อครุภัณฑ์ที่จำเป็น และการฝึกอบรมครูผู้สอนให้มีความรู้ความเข้าใจเกี่ยวกับเทคโนโลยี"
    "ดิจิทัล ปัญญาประดิษฐ์ (Artificial Intelligence) และระบบอัตโนมัติในภาคอุตสาหกรรม",
    "สำหรับผู้เรียนที่มีความประสงค์จะเข้าร่วมโครงการแลกเปลี่ยนนักศึกษากับสถาบันการศึกษาในต่างประเทศ"
    " ให้ยื่นใบสมัครพร้อมหลักฐานแสดงผลการเรียนเฉลี่ยสะสมไม่ต่ำกว่า 3.00 และหนังสือรับรองความประพฤติ"
    "จากผู้อำนวยการสถานศึกษา ต่อคณะกรรมการพิจารณาคัดเลือกภายในระยะเวลาที่กำหนด",
    "อนึ่ง เพื่อให้การประสานงานเป็นไปด้วยความเรียบร้อย ขอให้สถานศึกษาแต่งตั้งผู้ประสานงานระดับสถานศึกษา"
    " จำนวน 1 คน และแจ้งชื่อ ตำแหน่ง หมายเลขโทรศัพท์เคลื่อนที่ และที่อยู่ไปรษณีย์อิเล็กทรอนิกส์"
    " ให้สำนักติดตามและประเมินผลการอาชีวศึกษาทราบ ผ่านแบบสำรวจออนไลน์ “แจ้งรายชื่อผู้ประสานงาน”",
    "การประเมินผลสัมฤทธิ์ของแผนปฏิบัติราชการประจำปีงบประมาณ ให้คำนึงถึงความคุ้มค่า ความโปร่งใส"
    " การมีส่วนร่วมของภาคีเครือข่าย ตลอดจนความยั่งยืนของผลลัพธ์ที่เกิดขึ้นกับผู้เรียน ชุมชน และสังคม"
    " โดยใช้ตัวชี้วัดเชิงปริมาณและเชิงคุณภาพควบคู่กันไป ตามหลักเกณฑ์ที่คณะกรรมการกำหนด",
    "ฝ่ายบริหารทรัพยากรเป็นผู้รับผิดชอบการฟื้นฟูอาคารเรียนและปรับปรุงห้องปฏิบัติการ เป้าหมายคือเปิดใช้"
    "ได้ทันปีการศึกษาใหม่ ทั้งนี้ ให้ปฏิบัติตามระเบียบกระทรวงการคลังว่าด้วยการจัดซื้อจัดจ้างอย่างเคร่งครัด"
    " และรายงานความก้าวหน้าทุกไตรมาส ปี่ ปุ่ม ฝั่ง ฟ้า ฬ้า ปั้น ปิ๊ป ฝ้าย น้ำ ค่ำ ซ้ำ",
)

SLIPS = (
    Slip("วิทยาลัยสารพัดช่างลำปาง", "1352016501", "cu27kdo"),
    Slip("วิทยาลัยเทคนิคกาญจนาภิเษกมหานคร", "1110100001", "xy34abc"),
    Slip("วิทยาลัยการอาชีพนวมินทราชินีแม่ฮ่องสอน", "1358016201", "pq56rst"),
    Slip("วิทยาลัยอาชีวศึกษาเชียงใหม่", "1350100001", "zz99kkk"),
)

ICT = timezone(timedelta(hours=7))
COLLEGE = "วิทยาลัยสารพัดช่างลำปาง"
NOTES = (
    NoteBlock(
        [
            "เรียน ผู้อำนวยการ",
            "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของสถานศึกษา ในการขับเคลื่อนการอาชีวศึกษา"
            " ปีงบประมาณ พ.ศ. 2569 มาเพื่อโปรดทราบ",
            "/ เพื่อโปรดทราบ",
            "/ เห็นควรแจ้ง รองฯ ผ.ผ., หน.งานวางแผนฯ",
            "(นางสาวอัญชลี ธรรมศรีใจ)",
            "หัวหน้างานบริหารงานทั่วไป",
            "20 เม.ย. 69",
        ]
    ),
    NoteBlock(["ทราบ แจ้ง รองฯ ผ.ผ.", "(นายภาณุวัฒน์ ลาสูทธิ)", "ผู้อำนวยการ", "20 เม.ย. 69"]),
)


def seed_letter() -> Letter:
    return load_letter_file(EXAMPLE / "letter.toml").merge()


def corpus_letter() -> Letter:
    """At least three pages: the seed's body and more, twice."""
    seed = seed_letter()
    body = (*seed.body[:-1], *EXTRA_PARAGRAPHS, *seed.body[:-1], *EXTRA_PARAGRAPHS, seed.body[-1])
    return replace(seed, body=body, date=date(2026, 4, 10))


def memo() -> Letter:
    return load_letter_file(MEMO).merge()


def long_memo() -> Letter:
    """Two pages and more, secret and urgent, with the digital signature's line, a reference
    and enclosures: every part a memo can have."""
    example = memo()
    body = (*example.body[:-1], *EXTRA_PARAGRAPHS[:4], example.body[-1])
    return replace(
        example,
        body=body,
        secrecy="ลับ",
        urgency="ด่วนที่สุด",
        references=("หนังสือสำนักงานคณะกรรมการการอาชีวศึกษา ที่ ศธ 0603/ว 5553 ลงวันที่ 10 เมษายน 2569",),
        enclosures=(
            Enclosure("สำเนาหนังสือ ที่ ศธ 0603/ว 5553", "1 ชุด"),
            Enclosure("ซองชื่อผู้ใช้และรหัสผ่านระบบ e-MVS", "1 ซอง"),
        ),
        signed_on=date(2026, 4, 20),
    )


def signed_letter() -> bytes:
    """The seed letter signed by a key of a test PKI, its widget over the signature block."""
    from letters.letter import render_letter_layout
    from letters.signing import load_signing_key, sign_letter
    from tests.support.pki import make_pki

    pki = make_pki()
    key = load_signing_key(pki.p12("signer"), pki.passphrase)
    rendered = render_letter_layout(replace(seed_letter(), signed_on=date(2026, 4, 10)))
    return sign_letter(rendered, key, reason="ลงนามหนังสือราชการ")


def annotated_letter() -> bytes:
    stamp = ReceiptStamp(COLLEGE, "1234", datetime(2026, 4, 20, 10, 35, tzinfo=ICT))
    return annotate(render_letter(seed_letter()), stamp, NOTES)


def print_all(folder: Path, colleges: int = 6) -> bytes:
    """``print-all.pdf`` of a mailout of the example to ``colleges`` colleges, made by the CLI
    in its own process with its own SQLite database."""
    work = folder / "mailout"
    shutil.copytree(EXAMPLE, work)
    with (EXAMPLE / "roster.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    with (work / "roster.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[: colleges + 1])
    env = {**os.environ, "SARABAN_DB": str(folder / "saraban.db")}
    env.pop("DATABASE_URL", None)
    out = folder / "out"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "saraban"), "mailout", str(work), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if result.returncode:
        raise RuntimeError(f"saraban mailout failed: {result.stderr}")
    return (out / "print-all.pdf").read_bytes()


DOCUMENTS: dict[str, Callable[[Path], bytes]] = {
    "seed letter": lambda _: render_letter(seed_letter()),
    "corpus letter": lambda _: render_letter(corpus_letter()),
    "signed seed letter": lambda _: signed_letter(),
    "memo": lambda _: render_letter(memo()),
    "long memo": lambda _: render_letter(long_memo()),
    "slips": lambda _: render_slips(list(SLIPS), per_page=2),
    "QR sheet": lambda _: render_qr_sheet(load_qr_sheet(EXAMPLE / "qr-sheet.toml")),
    "annotated letter": lambda _: annotated_letter(),
    "print-all (6 colleges)": print_all,
}
