"""Reading PDFs back as a user's tools do: text layers by three extractors, pages as pixels."""

from __future__ import annotations

import io
import re

import pdfplumber
import pypdf
import pypdfium2
from PIL import Image

EXTRACTORS = ("pypdf", "pdfplumber", "pdfium")


def page_texts(pdf: bytes, extractor: str) -> list[str]:
    """The text of each page as the named extractor reads it."""
    if extractor == "pypdf":
        return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    if extractor == "pdfplumber":
        # Its default sorts characters by x, which reorders zero-width marks in any PDF;
        # text-flow order is the order the producer wrote.
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            return [p.extract_text(use_text_flow=True) or "" for p in doc.pages]
    if extractor == "pdfium":
        doc = pypdfium2.PdfDocument(pdf)
        try:
            texts = []
            for page in doc:
                textpage = page.get_textpage()
                texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            return texts
        finally:
            doc.close()
    raise ValueError(extractor)


def lines(pdf: bytes, extractor: str) -> list[str]:
    return [line for text in page_texts(pdf, extractor) for line in text.split("\n")]


def squash(text: str) -> str:
    """Text without whitespace: line breaks and justification spaces do not matter."""
    return re.sub(r"\s+", "", text)


def words_in_order(words: list[str], text: str) -> list[str]:
    """The words not found in ``text`` in the given order (empty when all are)."""
    flat = squash(text)
    missing = []
    pos = 0
    for word in words:
        found = flat.find(squash(word), pos)
        if found < 0:
            missing.append(word)
        else:
            pos = found + len(squash(word))
    return missing


def render_page(pdf: bytes, index: int = 0, dpi: float = 50) -> Image.Image:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return doc[index].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        doc.close()
