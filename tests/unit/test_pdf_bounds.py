"""Bounded PDF work (issue #14, item 1): what an upload may be (saraban.services.pdfcheck),
the size a page is rendered at (saraban.services.previews), and the worker pool's time and
memory limits (saraban.services.pdfjobs)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import FloatObject, NameObject

from saraban.domain.errors import Invalid, PayloadTooLarge
from saraban.services import pdfcheck, pdfjobs, previews
from saraban.settings import Settings


def _pdf(*sizes: tuple[float, float], user_unit: float | None = None) -> bytes:
    writer = PdfWriter()
    for width, height in sizes:
        page = writer.add_blank_page(width, height)
        if user_unit is not None:
            page[NameObject("/UserUnit")] = FloatObject(user_unit)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path)


def test_a_huge_page_is_refused_naming_the_file_and_the_page(settings: Settings) -> None:
    hostile = _pdf((595, 842), (14400, 14400))
    assert len(hostile) < 1000
    with pytest.raises(Invalid) as caught:
        pdfcheck.check_pages(hostile, settings, name="plan.pdf")
    message = caught.value.message
    assert caught.value.field == "file"
    assert message.startswith("plan.pdf: หน้า 2 มีขนาด 5,080 × 5,080 มม.")
    assert "14,400 × 14,400 pt" in message and "2,384 pt" in message


def test_a_user_unit_counts_in_the_page_size(settings: Settings) -> None:
    with pytest.raises(Invalid, match="หน้า 1"):
        pdfcheck.check_pages(_pdf((600, 800), user_unit=10), settings, name="x.pdf")


def test_too_many_pages_are_refused(settings: Settings) -> None:
    small = settings.model_copy(update={"max_upload_pages": 5})
    assert pdfcheck.check_pages(_pdf(*[(595, 842)] * 5), small) == 5
    with pytest.raises(Invalid, match="6 หน้า"):
        pdfcheck.check_pages(_pdf(*[(595, 842)] * 6), small, name="long.pdf")


def test_ordinary_pages_pass(settings: Settings) -> None:
    assert pdfcheck.check_pages(_pdf((595, 842), (842, 1191), (1684, 2384)), settings) == 3


def test_the_preview_scale_keeps_to_the_pixel_budget() -> None:
    a4 = previews.render_scale(595, 842, 4_000_000)
    assert a4 == pytest.approx(110 / 72)  # an ordinary page at the preview's dpi
    huge = previews.render_scale(14400, 14400, 4_000_000)
    assert (14400 * huge) ** 2 <= 4_000_000 * 1.0001


@pytest.fixture
def pool() -> Iterator[pdfjobs.PdfPool]:
    made = pdfjobs.PdfPool(workers=1, seconds=1.5, memory_mib=512)
    try:
        yield made
    finally:
        made.close()


def test_a_huge_page_already_stored_renders_small_and_soon(settings: Settings) -> None:
    """A file kept before the upload check (or sent another way) is still rendered at the
    bounded size: not 22,000 pixels square."""
    started = time.monotonic()
    png = previews.page_png(_pdf((14400, 14400)), 0, settings)
    elapsed = time.monotonic() - started
    width, height = Image.open(io.BytesIO(png)).size
    assert width * height <= settings.render_max_pixels
    assert elapsed < 10, elapsed


def test_a_job_past_its_time_is_stopped_and_the_pool_goes_on(pool: pdfjobs.PdfPool) -> None:
    started = time.monotonic()
    with pytest.raises(PayloadTooLarge, match=r"1\.5 s"):
        pool.run(time.sleep, 30, what="slow.pdf")
    assert time.monotonic() - started < 10
    assert pool.run(len, b"abc") == 3  # a new worker took its place


def test_a_job_past_its_memory_is_refused(pool: pdfjobs.PdfPool) -> None:
    with pytest.raises(PayloadTooLarge, match="512"):
        pool.run(bytearray, 2 * 1024**3, what="big.pdf")
    assert pool.run(len, b"ab") == 2
