"""The web pages: server-rendered HTML in Thai over the same service functions as the JSON
API, working without JavaScript.

``install_pages(app)`` adds the pages' routes, their static files (the stylesheet and the
bundled Thai font) and error pages (in HTML outside ``/api``) to an app made by
``saraban.web.app.create_app``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from saraban.web.pages import (
    auth,
    compose,
    inbox,
    letter,
    mailout_jobs,
    ovec,
    ovec_colleges,
    receive,
    received,
    route_forms,
    staff,
)
from saraban.web.pages.errors import install_error_pages
from saraban.web.pages.fonts import router as fonts_router

STATIC_DIR = Path(str(resources.files("saraban.web") / "static"))


def install_pages(app: FastAPI) -> None:
    if getattr(app.state, "pages_installed", False):
        return
    app.state.pages_installed = True
    app.include_router(fonts_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # /receipts/new before /receipts/{receipt_id}
    for module in (
        auth,
        inbox,
        receive,
        letter,
        route_forms,
        staff,
        ovec,
        ovec_colleges,
        mailout_jobs,
    ):
        app.include_router(module.router)
    for module in (compose, received):
        app.include_router(module.router)
    install_error_pages(app)
