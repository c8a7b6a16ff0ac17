"""OVEC starts a mailout from the web page (Debian's chromium), watches its progress move live
(the page's script polls the JSON API: no reload), and downloads the manifest. The job is run
by a real ``saraban worker`` process on the test's SQLite file (the local worker)."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser

from tests.support.browser import (
    OVEC_PASSWORD,
    OVEC_USER,
    add_ovec_user,
    app_with_pages,
    live_server,
    log_in,
    new_page,
    page_settings,
    sqlite_engine,
)
from tests.support.letters import ROOT

EXAMPLE = ROOT / "examples" / "emvs-2569"
COLLEGES = 200


def test_ovec_starts_a_mailout_and_watches_it_finish(browser: Browser, tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    settings = page_settings(tmp_path / "data", mailout_dir=tmp_path / "shared")
    add_ovec_user(engine, settings)
    lines = (EXAMPLE / "roster.csv").read_text(encoding="utf-8").splitlines()
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(lines[: COLLEGES + 1]) + "\n", encoding="utf-8")
    env = {**os.environ, "SARABAN_DB": str(tmp_path / "saraban.db")}
    env.pop("DATABASE_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "saraban.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with live_server(app_with_pages(settings, engine)) as base:
            page = new_page(browser, base, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "response",
                lambda r: (
                    errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            log_in(page, OVEC_USER, OVEC_PASSWORD)
            page.get_by_role("link", name="งานจัดทำหนังสือเวียน").click()
            page.get_by_label("ชื่องาน").fill("emvs-web")
            page.get_by_label("ไฟล์หนังสือ (letter.toml)").set_input_files(EXAMPLE / "letter.toml")
            page.get_by_label("รายชื่อสถานศึกษา").set_input_files(roster)
            page.get_by_label("สิ่งที่ส่งมาด้วย").set_input_files(
                EXAMPLE / "enclosures" / "stand-in-0180.pdf"
            )
            page.get_by_label("แผ่นคิวอาร์โค้ด").set_input_files(EXAMPLE / "qr-sheet.toml")
            page.get_by_label("การตั้งค่า").set_input_files(EXAMPLE / "mailout.toml")
            page.get_by_role("button", name="เริ่มจัดทำ").click()
            page.wait_for_url("**/ovec/jobs/*")
            page.evaluate("window.sameDocument = true")  # gone if the page reloads

            seen: list[int] = []
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                seen.append(int(page.locator("#job-done").inner_text()))
                state = page.locator("#job-state").get_attribute("data-state")
                if state in ("finished", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            assert state == "finished", page.locator("#job").inner_text()
            assert seen[-1] == COLLEGES
            moved = sorted({n for n in seen if 0 < n < COLLEGES})
            assert moved, seen  # seen part-way, not only before and after
            assert page.evaluate("window.sameDocument") is True  # live, without a reload
            assert page.locator("#job-total").inner_text() == str(COLLEGES)

            with page.expect_download() as download_info:
                page.get_by_role("link", name="manifest.csv").click()
            data = Path(download_info.value.path()).read_bytes()
            assert data.startswith(b"\xef\xbb\xbf")
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
            assert len(rows) == COLLEGES
            assert rows == list(
                csv.DictReader(
                    io.StringIO(
                        (tmp_path / "shared" / "out" / "emvs-web" / "manifest.csv").read_text(
                            encoding="utf-8-sig"
                        )
                    )
                )
            )
            assert not errors, errors  # the script ran under the page's CSP

            # Without JavaScript the finished page says the same, server-rendered.
            plain = new_page(browser, base, java_script_enabled=False)
            log_in(plain, OVEC_USER, OVEC_PASSWORD)
            plain.goto(page.url)
            assert plain.locator("#job-done").inner_text() == str(COLLEGES)
            assert plain.get_by_role("link", name="print-all.pdf").count() == 1
            plain.context.close()
            page.context.close()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        engine.dispose()
