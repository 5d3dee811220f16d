"""The FastAPI application: health and the request bookkeeping that graceful shutdown relies on."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from .settings import SERVICE, load_or_exit

settings = load_or_exit()
log = logging.getLogger("app")


class State:
    shutting_down = False
    in_flight = 0
    # Requests uvicorn had to cancel because the graceful shutdown timeout ran out.
    cancelled = 0


state = State()


class RequestTracker:
    """Counts in-flight and cancelled requests and logs each one at debug level."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def record_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        state.in_flight += 1
        try:
            await self.app(scope, receive, record_status)
        except asyncio.CancelledError:
            state.cancelled += 1
            raise
        finally:
            state.in_flight -= 1
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.monotonic() - started) * 1000, 3),
            }
            log.debug("request", extra={"fields": fields})


app = FastAPI(title=SERVICE, docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(RequestTracker)


@app.get("/health")
async def health() -> JSONResponse:
    body = {
        "status": "shutting-down" if state.shutting_down else "ok",
        "service": SERVICE,
        "secrets": sorted(settings.secrets),
        "config": settings.public,
    }
    return JSONResponse(
        body, status_code=503 if state.shutting_down else 200, headers={"Cache-Control": "no-store"}
    )
