"""Font families as configuration: a folder of TrueType files, found by family name.

Laksaman (bundled in ``fonts/``) is the default. An agency that drops TH Sarabun New files into
the folder selects them with ``SARABAN_FONT_FAMILY="TH Sarabun New"``; no code changes.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from letters.shaping import ShapingFont
from saraban.domain.errors import ConfigError

DEFAULT_FAMILY = "Laksaman"
# The bundled fonts: the repository's fonts/ folder, installed as the package letters.fontfiles.
FONTS_DIR = Path(str(resources.files("letters.fontfiles")))

STYLES = ("regular", "bold", "italic", "bolditalic")
_STYLE_WORDS = {
    "regular": {"", "regular", "normal", "book", "roman"},
    "bold": {"bold", "bd", "b"},
    "italic": {"italic", "it", "i", "oblique"},
    "bolditalic": {"bolditalic", "boldoblique", "bi", "z"},
}


class FontConfigError(ConfigError):
    """A font family that cannot be found or is incomplete."""


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def _style_of(stem: str, family: str) -> str | None:
    squashed = _squash(stem)
    fam = _squash(family)
    if not squashed.startswith(fam):
        return None
    rest = squashed[len(fam) :]
    for style, words in _STYLE_WORDS.items():
        if rest in words:
            return style
    return None


@dataclass(frozen=True)
class FontFamily:
    """Four styles of one typeface, each a :class:`ShapingFont` registered with reportlab."""

    name: str
    scale: float  # nominal (TH SarabunPSK) points to this family's points
    regular: ShapingFont
    bold: ShapingFont
    italic: ShapingFont
    bolditalic: ShapingFont

    def size(self, nominal: float) -> float:
        """The size to set this family at so it prints like TH SarabunPSK at ``nominal``."""
        return nominal * self.scale

    def style(self, *, bold: bool = False, italic: bool = False) -> ShapingFont:
        if bold and italic:
            return self.bolditalic
        if bold:
            return self.bold
        if italic:
            return self.italic
        return self.regular


def find_family_files(family: str, folder: Path) -> dict[str, Path]:
    """Map each style to its file in ``folder``; bold and italic fall back to what exists."""
    if not folder.is_dir():
        raise FontConfigError(f"font folder {folder} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".ttf", ".otf"}:
            continue
        style = _style_of(path.stem, family)
        if style and style not in found:
            found[style] = path
    if "regular" not in found:
        names = ", ".join(p.name for p in sorted(folder.glob("*.[to]tf"))) or "none"
        raise FontConfigError(
            f"font family {family!r}: no regular file in {folder} (font files there: {names})"
        )
    found.setdefault("bold", found["regular"])
    found.setdefault("italic", found["regular"])
    found.setdefault("bolditalic", found["bold"])
    return found


def family_scale(family: str, folder: Path) -> float:
    config = folder / "families.toml"
    if not config.is_file():
        return 1.0
    try:
        table = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FontConfigError(f"{config}: {exc}") from None
    for name, entry in table.items():
        if _squash(name) == _squash(family):
            scale = entry.get("scale", 1.0)
            if not isinstance(scale, (int, float)) or not 0.2 <= scale <= 5:
                raise FontConfigError(f"{config}: [{name}] scale must be a number, got {scale!r}")
            return float(scale)
    return 1.0


@cache
def load_family(family: str | None = None, folder: str | None = None) -> FontFamily:
    """The configured family (env ``SARABAN_FONT_FAMILY`` / ``SARABAN_FONTS_DIR``), loaded once."""
    family = family or os.environ.get("SARABAN_FONT_FAMILY") or DEFAULT_FAMILY
    base = Path(folder or os.environ.get("SARABAN_FONTS_DIR") or FONTS_DIR)
    files = find_family_files(family, base)
    fonts = {
        style: ShapingFont.load(f"{_squash(family)}-{style}", files[style]) for style in STYLES
    }
    return FontFamily(name=family, scale=family_scale(family, base), **fonts)
