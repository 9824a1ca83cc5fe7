"""Request middleware (pure ASGI, so it adds microseconds, not milliseconds).

For every HTTP request it:

* picks a request id (the caller's ``X-Request-ID`` if it looks sane, else a new
  one), stores it in ``scope["state"]`` and returns it in ``X-Request-ID``, with the
  time spent in the app in ``Server-Timing: app;dur=<ms>``;
* refuses bodies over the size limit with 413 before they are read;
* answers 408 and closes the connection when the body has not all arrived within
  ``GRADER_BODY_TIMEOUT_SECONDS`` of the headers (a client that sends part of a body
  and stalls would otherwise hold its connection and a request task indefinitely);
* turns any unexpected exception into a 500 with a generic message and the
  request id (the traceback goes to the log, never to the client);
* records request count and latency per route template, and writes one
  structured log line per request (no body: answers are never logged here).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.api.logs import REQUEST_ID
from grader.api.telemetry import Metrics
from grader.errors import RequestTooLargeError

log = logging.getLogger("grader.api.access")
errlog = logging.getLogger("grader.api")

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex[:16]


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class _BodyTimeout(Exception):
    """The body did not arrive in time; the 408 has been sent."""


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, body_timeout: float = 15.0
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        REQUEST_ID.set(rid)  # every log line of this request carries it (api/logs.py)
        t0 = time.perf_counter()
        status = 500
        started = timed_out = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if timed_out:
                return  # the 408 is out; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Request-ID", rid)
                elapsed_ms = (time.perf_counter() - t0) * 1000
                headers.append("Server-Timing", f"app;dur={elapsed_ms:.2f}")
            await send(message)

        async def body_timed_out() -> None:
            nonlocal timed_out
            if not started:
                await _send_json(send_with_id, 408, self._timeout_body(rid), close=True)
            timed_out = True

        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                await self._reject_too_large(rid, send_with_id)
            else:
                await self.app(scope, self._limited(receive, body_timed_out), send_with_id)
        except _BodyTimeout:
            pass  # answered 408 already
        except Exception:
            errlog.exception("unhandled error", extra={"fields": {"request_id": rid}})
            if not started:
                await _send_json(send_with_id, 500, _internal(rid))
        finally:
            self._record(scope, rid, status, time.perf_counter() - t0)

    def _limited(self, receive: Receive, timed_out: Callable[[], Awaitable[None]]) -> Receive:
        """Count body bytes as they arrive (chunked uploads have no Content-Length), and
        give the whole body ``body_timeout`` seconds; once it is in, pass ``receive`` through
        (a streaming response waits on it for the client to disconnect)."""
        seen, complete = 0, False
        deadline = time.monotonic() + self.body_timeout

        async def wrapped() -> Message:
            nonlocal seen, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout(deadline - time.monotonic()):
                    message = await receive()
            except TimeoutError:
                await timed_out()
                raise _BodyTimeout from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise RequestTooLargeError(self._too_large_message())
                complete = not message.get("more_body", False)
            else:
                complete = True  # http.disconnect
            return message

        return wrapped

    def _timeout_body(self, rid: str) -> dict[str, Any]:
        message = (
            f"the request body did not arrive within {self.body_timeout:g} s "
            "(GRADER_BODY_TIMEOUT_SECONDS): send the whole body without pausing"
        )
        return {"error": {"code": "body_timeout", "message": message, "request_id": rid}}

    def _too_large_message(self) -> str:
        return (
            f"the request body is over {self.max_body_bytes:,} bytes: shorten the answer "
            "(the limit is GRADER_MAX_ANSWER_CHARS characters)"
        )

    async def _reject_too_large(self, rid: str, send: Send) -> None:
        body = {
            "error": {
                "code": RequestTooLargeError.code,
                "message": self._too_large_message(),
                "request_id": rid,
            }
        }
        await _send_json(send, 413, body)

    def _record(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = _route(scope)
        method = scope.get("method", "?")
        self.metrics.observe_request(method, route, status, seconds)
        log.info(
            "%s %s %d %.1fms",
            method,
            scope.get("path", ""),
            status,
            seconds * 1000,
            extra={
                "fields": {
                    "request_id": rid,
                    "method": method,
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                    "client": (scope.get("client") or ("?",))[0],
                }
            },
        )


def _internal(rid: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "internal_error",
            "message": f"internal error: retry, and if it persists report request id {rid} "
            "to the operator (the details are in the server log)",
            "request_id": rid,
        }
    }


async def _send_json(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if close:  # the rest of the body may still come: the server closes instead of reading it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
