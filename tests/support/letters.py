"""Letters and Thai text that the typesetting tests share."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from letters.letterfile import load_letter_file
from letters.model import Letter

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_LETTER = ROOT / "examples" / "emvs-2569" / "letter.toml"
DATA = ROOT / "tests" / "data"

# Administrative Thai in the register of a circular: long compounds, numbers, Latin words,
# quotation marks and parentheses, so that line breaks land in many kinds of places.
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
)


def example_letter() -> Letter:
    return load_letter_file(EXAMPLE_LETTER).merge()


def long_letter(*, thai_digits: bool = False) -> Letter:
    """A letter of at least three pages: the seed's body and more, twice."""
    seed = example_letter()
    body = (*seed.body[:-1], *EXTRA_PARAGRAPHS, *seed.body[:-1], *EXTRA_PARAGRAPHS, seed.body[-1])
    return replace(seed, body=body, thai_digits=thai_digits, date=date(2026, 4, 10))
