"""The JSON API under ``/api``: thin routes over the service layer."""

from fastapi import APIRouter

from saraban.web.api import auth, credentials, drafts, letters, mailout_jobs, ovec, staff

router = APIRouter()
router.include_router(auth.router)
router.include_router(staff.router)
router.include_router(letters.router)
router.include_router(ovec.router)
router.include_router(credentials.router)
router.include_router(mailout_jobs.router)
router.include_router(drafts.router)
