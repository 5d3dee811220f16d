"""`python3 -m app`: uvicorn on 0.0.0.0:$PORT with a bounded graceful shutdown."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn

from .logs import configure
from .settings import load_or_exit

log = logging.getLogger("app")


def main() -> int:
    settings = load_or_exit()
    configure(settings.log_level)
    # Imported after logging is set up, so what the app logs at import is JSON too.
    from .main import app, state

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if not state.shutting_down:
                state.shutting_down = True
                fields = {"signal": signal.Signals(sig).name, "inFlight": state.in_flight}
                log.info("shutdown started", extra={"fields": fields})
            super().handle_exit(sig, frame)

    server = Server(
        uvicorn.Config(
            app,
            host="0.0.0.0",
            port=settings.port,
            # Our JSON handler on the root logger formats uvicorn's records too.
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=settings.shutdown_timeout_ms / 1000,
        )
    )
    # Once done, uvicorn re-raises the signal that stopped it, which with the default handlers would
    # end the process by that signal instead of the exit code below.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run()
    if not server.started:
        log.error("server did not start", extra={"fields": {"port": settings.port}})
        return 1
    if state.cancelled:
        fields = {"cancelled": state.cancelled, "timeoutMs": settings.shutdown_timeout_ms}
        log.error("shutdown timed out; requests were cancelled", extra={"fields": fields})
        return 1
    log.info("shutdown complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
