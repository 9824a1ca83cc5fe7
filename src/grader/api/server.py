"""Run the API under uvicorn: one process, models loaded once (``grader serve``)."""

from __future__ import annotations

from grader.api.logs import configure_logging
from grader.config import Settings


def public_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def serve(
    settings: Settings, host: str, port: int, log_level: str = "info", json_logs: bool = True
) -> None:
    """Blocks until the server stops (Ctrl-C / SIGTERM)."""
    import uvicorn

    from grader.api.app import create_app

    configure_logging(log_level, json_logs)
    app = create_app(settings, public_url=public_url(host, port))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # our handlers (configure_logging), not uvicorn's defaults
        access_log=False,  # the request middleware writes one structured line per request
        log_level=log_level,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
