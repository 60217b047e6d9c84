"""HTTP routes, one module per resource of the Assistants v2 API."""

from fastapi import APIRouter

from . import assistants, files, messages, runs, steps, threads, vector_stores

router = APIRouter()
for module in (assistants, threads, messages, runs, steps, files, vector_stores):
    router.include_router(module.router)

__all__ = ["router"]
