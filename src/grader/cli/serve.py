"""``grader serve``: run the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from grader.cli.console import err
from grader.cli.loading import ensure_local_model


def serve(
    host: Annotated[
        str, typer.Option(envvar="GRADER_HOST", help="Interface; 0.0.0.0 for all.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="GRADER_PORT", help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    text_logs: Annotated[bool, typer.Option(help="Plain-text logs instead of JSON.")] = False,
) -> None:
    """Serve the HTTP API (models load once at start-up; docs at /docs)."""
    from grader.api.server import public_url
    from grader.api.server import serve as run_server
    from grader.config import get_settings

    settings = get_settings()
    ensure_local_model(settings)
    url = public_url(host, port)
    err.print(
        f"grader API on [bold]{url}[/bold] — interactive docs: [bold]{url}/docs[/bold] "
        "(loading models…)",
        highlight=False,
        soft_wrap=True,
    )
    run_server(settings, host, port, log_level, json_logs=not text_logs)
