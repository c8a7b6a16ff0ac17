"""The seed circular as the compose form gives it: every part, for the service, API and
browser tests of composing in the web (examples/emvs-2569/letter.toml, field by field)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569"
SEED_ENCLOSURE = SEED / "enclosures" / "stand-in-0180.pdf"
SIGNER = {
    "name": "นายวิวัฒน์ ปัญจมะวัต",
    "position": "รองเลขาธิการคณะกรรมการการอาชีวศึกษา",
}
ON_BEHALF_OF = "เลขาธิการคณะกรรมการการอาชีวศึกษา"


def seed_raw() -> dict[str, Any]:
    return tomllib.loads((SEED / "letter.toml").read_text(encoding="utf-8"))


def seed_qr() -> dict[str, Any]:
    return tomllib.loads((SEED / "qr-sheet.toml").read_text(encoding="utf-8"))


def seed_compose(signer_id: int, enclosure_sha: str) -> dict[str, Any]:
    """The JSON of the compose form for the seed circular."""
    raw = seed_raw()
    items = []
    for item in raw["enclosures"]:
        entry: dict[str, Any] = {"title": item["title"], "count": item["count"]}
        if "file" in item:
            entry["file"] = enclosure_sha
        else:
            entry["make"] = item["make"]
        items.append(entry)
    qr = seed_qr()
    return {
        "kind": "circular",
        "date": date(2026, 4, 10).isoformat(),
        "subject": raw["subject"],
        "to": raw["to"],
        "enclosures": items,
        "body": raw["body"],
        "thai_digits": True,
        "unit": raw["sender"]["unit"].strip(),
        "phone": raw["sender"]["phone"],
        "signer_id": signer_id,
        "acting": "ปฏิบัติราชการแทน",
        "on_behalf_of": ON_BEHALF_OF,
        "qr_title": qr["title"],
        "qr_rows": [{"url": e["url"], "caption": e["caption"]} for e in qr["entry"]],
    }
