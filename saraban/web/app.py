"""The web service: ``create_app(settings, engine)``, the JSON API under ``/api`` and the
server-rendered pages over the same services.

Routes stay thin: they take a principal, a database session and validated input from the
request dependencies (saraban.web.deps), call a function of the service layer
(saraban.services: accounts, receipts, endorsement, tracking, credentials), and shape its
answer. The services raise the error tree of saraban.domain.errors, which becomes HTTP in one
place (saraban.web.errors); the pages answer the same errors as pages.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from saraban.services import signatures
from saraban.settings import Settings
from saraban.storage.engine import SQLITE_IMMEDIATE, database_url, make_engine
from saraban.web.api import router
from saraban.web.deps import POOL_SIZE
from saraban.web.errors import install_api_errors
from saraban.web.formparsing import install_strict_forms
from saraban.web.limits import BodyLimit
from saraban.web.pages import install_pages


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The service over ``engine`` (default: the configured database, which must already be
    migrated)."""
    settings = settings if settings is not None else Settings()
    signatures.check_configuration(settings)  # the trust store reads, the seal opens
    app = FastAPI(
        title="saraban",
        version="0.1.0",
        summary="สารบรรณ: receipt, routing to the director's decision, and OVEC's tracking",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if engine is None:
        url = make_url(database_url())
        in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        engine = make_engine(url) if in_memory else make_engine(url, pool_size=POOL_SIZE)
    app.state.engine = engine
    # On SQLite, a write's transaction starts with BEGIN IMMEDIATE (see saraban.storage.engine).
    app.state.write_bind = engine.execution_options(**{SQLITE_IMMEDIATE: True})
    app.state.proxies = settings.proxy_networks()
    install_api_errors(app)
    install_strict_forms()  # text that is not UTF-8: 422, never mojibake
    app.include_router(router, prefix="/api")
    install_pages(app)
    app.add_middleware(BodyLimit, settings=settings)
    return app


def served_app() -> FastAPI:
    """The app as each worker of ``saraban serve`` builds it (uvicorn's factory).

    Then the garbage collector is told to leave alone the objects that exist now (modules,
    routes, schemas, SQLAlchemy's mappers: some 170,000), which live as long as the process:
    otherwise each full collection walks them all and stops every request for some 100 ms,
    which is the p99."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
