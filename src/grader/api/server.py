"""Run the API under uvicorn: one process, models loaded once (``grader serve``).

Connection limits (uvicorn's, with its h11 parser; the request middleware adds the
body timeout, ``GRADER_BODY_TIMEOUT_SECONDS``, and the size limit):

* an idle keep-alive connection is closed after ``KEEP_ALIVE_SECONDS``;
* a request line and headers over ``MAX_HEADER_BYTES`` get 400;
* over ``MAX_CONCURRENCY`` open connections and requests in progress, new ones get 503.

uvicorn has no timeout for a client that opens a connection and sends its headers
slowly (or not at all); behind the open internet, put a proxy with a header timeout in
front (nginx's ``client_header_timeout``).
"""

from __future__ import annotations

from grader.api.logs import configure_logging
from grader.config import Settings

KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONCURRENCY = 1000


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
        http="h11",  # the parser MAX_HEADER_BYTES applies to, installed with uvicorn
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        limit_concurrency=MAX_CONCURRENCY,
        server_header=False,
    )
