"""A small OpenAI-compatible HTTP server for fault injection and benchmarks (not a model).

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` well enough for
:class:`~grader.grading.judges.remote.judge.OpenAIJudge`, in both judge styles.  A
healthy reply is decided by word overlap between each rubric point and the
answer (like the ``fake`` judge) and quotes the best-matching answer sentence.

Faults are scripted per answer with a directive in the answer text,
``[[fake:NAME]]``, or for every request with ``default=NAME``:

=====================  ================================================================
``ok``                 healthy reply
``429`` / ``500``      first attempt of each request: HTTP 429 (``Retry-After: 1``) / 500
``timeout``            first attempt: no reply for ``hang`` seconds
``429-always`` …       the same on every attempt (also ``500-always``, ``timeout-always``)
``truncated``          JSON cut in half, ``finish_reason: length``
``empty``              empty message content
``garbage``            prose instead of JSON
``unknown-ids``        healthy verdicts plus verdicts for ids not in the rubric
``wrong-ids``          every criterion id misspelt (no usable verdict)
``out-of-range``       a misconception with confidence 250 (and -7 for a second one)
``bad-evidence``       every criterion "met", quoting text that is not in the answer
``no-logprobs``        probes: the yes/no word without log-probabilities
                       (probes also honour ``empty``, ``garbage`` and ``out-of-range``)
``NAME-once``          a reply fault on the first turn only; a re-ask gets a healthy reply
=====================  ================================================================

``flavour="llama-cpp"`` imitates llama-cpp-python's server: ``owned_by: me``,
HTTP 500 for the ``developer`` role and for ``response_format`` ``json_schema``.

Run one: ``python tests/fake_openai_server.py --port 8099 --latency 0.3``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from grader.testing.judge import content_words, overlap_probability
from grader.text import sentences

_DIRECTIVE = re.compile(r"\[\[fake:([a-z0-9-]+)\]\]")
_ITEM = re.compile(
    r"^- ([a-z0-9][a-z0-9-]*): (.+?)(?: \((?:partial credit: .*|all or nothing)\))?$"
)
HTTP_FAULTS = ("429", "500", "timeout")
FAKE_QUOTE = "a sentence the candidate never wrote"


class FakeOpenAIServer:
    """``with FakeOpenAIServer(latency=0.3) as srv: ... srv.url ...``"""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        hang: float = 5.0,
        flavour: str = "generic",
        model: str = "fake-judge-1",
        default: str = "ok",
    ) -> None:
        self.latency, self.hang, self.flavour = latency, hang, flavour
        self.model, self.default = model, default
        self.requests: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0  # chat requests being answered right now / peak
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ behaviour

    def chat(self, body: dict[str, Any], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one chat-completions request."""
        with self._lock:
            self._seen[hashlib.sha256(raw).hexdigest()] += 1
            attempt = self._seen[hashlib.sha256(raw).hexdigest()] - 1
            if len(self.requests) < 10_000:
                self.requests.append(body)
        rejected = self._flavour_error(body)
        if rejected:
            return 500, {"error": {"message": rejected, "type": "internal_server_error"}}, {}
        messages = body.get("messages") or []
        first_user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        answer = _answer(first_user)
        match = _DIRECTIVE.search(answer)
        fault = match.group(1) if match else self.default
        http_fault = self._http_fault(fault, attempt)
        if http_fault is not None:
            return http_fault
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if fault.endswith("-once"):
            fault = fault.removesuffix("-once") if turn == 0 else "ok"
        if _max_tokens(body) == 1:
            reply = _probe_reply(messages[-1]["content"], answer, fault)
            return 200, self._completion(*reply, body), {}
        content, finish = _structured_reply(first_user, answer, fault)
        return 200, self._completion(content, finish, None, body), {}

    def _http_fault(
        self, fault: str, attempt: int
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        name, _, always = fault.partition("-")
        if name not in HTTP_FAULTS or (always != "always" and attempt > 0):
            return None
        if name == "timeout":
            time.sleep(self.hang)
            return None
        status = int(name)
        headers = {"Retry-After": "1"} if status == 429 else {}
        return status, {"error": {"message": f"injected {status}", "type": "fault"}}, headers

    def _flavour_error(self, body: dict[str, Any]) -> str | None:
        if self.flavour != "llama-cpp":
            return None
        if any(m.get("role") == "developer" for m in body.get("messages") or []):
            return "messages.0.role: Input should be 'system'"
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return "response_format.type: Input should be 'text' or 'json_object'"
        return None

    def _completion(
        self, content: str, finish: str, logprobs: Any, body: dict[str, Any]
    ) -> dict[str, Any]:
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_words = max(1, len(content.split()))
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": logprobs,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_words,
                "completion_tokens": completion_words,
                "total_tokens": prompt_words + completion_words,
            },
        }

    def models(self) -> dict[str, Any]:
        owner = "me" if self.flavour == "llama-cpp" else "fake"
        return {
            "object": "list",
            "data": [{"id": self.model, "object": "model", "owned_by": owner}],
        }


# ---------------------------------------------------------------------- replies


_ANSWER = re.compile(r"<answer(?:-[0-9a-f]+)?>\n(.*)\n</answer(?:-[0-9a-f]+)?>", re.S)


def _answer(text: str) -> str:
    """The candidate's answer between its tags (plain, or fenced with the answer's code)."""
    m = _ANSWER.search(text)
    return m.group(1) if m else ""


def _between(text: str, start: str, end: str) -> str:
    i = text.find(start)
    j = text.rfind(end)
    return text[i + len(start) : j] if i >= 0 and j > i else ""


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_tokens") or body.get("max_completion_tokens")
    return int(value) if value is not None else None


def _items(prompt: str, tag: str) -> list[tuple[str, str, bool]]:
    """(id, description, has partial credit) from the '- id: description' lines of a block."""
    out = []
    for line in _between(prompt, f"<{tag}>\n", f"\n</{tag}>").splitlines():
        m = _ITEM.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2), "(partial credit:" in line))
    return out


class _Overlap:
    """Word overlap of rubric items with an answer and its sentences (words computed once)."""

    def __init__(self, answer: str) -> None:
        clean = _DIRECTIVE.sub("", answer)
        self.words = content_words(clean)
        self.sentences = [(s, content_words(s)) for s in sentences(clean)]

    def best(self, description: str) -> tuple[float, str | None]:
        """P(met) over the whole answer, and the sentence sharing most words with the item."""
        want = content_words(description)
        if not want or not self.sentences:
            return 0.0, None
        quote = max(self.sentences, key=lambda sw: len(want & sw[1]))[0]
        return len(want & self.words) / len(want), quote


def _healthy(prompt: str, answer: str) -> dict[str, Any]:
    overlap = _Overlap(answer)
    criteria = []
    for cid, desc, partial in _items(prompt, "criteria"):
        p, quote = overlap.best(desc)
        verdict = "met" if p >= 0.5 else "partial" if partial and p >= 0.25 else "not_met"
        evidence = quote if verdict != "not_met" else None
        criteria.append({"id": cid, "verdict": verdict, "evidence": evidence})
    miscon = []
    for mid, desc, _ in _items(prompt, "misconceptions"):
        p, quote = overlap.best(desc)
        if p >= 0.6:
            miscon.append({"id": mid, "evidence": quote, "confidence": round(p * 100)})
    return {"criteria": criteria, "misconceptions": miscon, "summary": "Fake feedback."}


def _structured_reply(prompt: str, answer: str, fault: str) -> tuple[str, str]:
    if fault == "empty":
        return "", "stop"
    if fault == "garbage":
        return "I think this answer is quite good overall.", "stop"
    data = _healthy(prompt, answer)
    if fault == "unknown-ids":
        data["criteria"].append({"id": "made-up-point", "verdict": "met", "evidence": None})
        data["misconceptions"].append({"id": "made-up-mistake", "evidence": None, "confidence": 90})
    elif fault == "wrong-ids":
        for c in data["criteria"]:
            c["id"] = "x-" + c["id"]
    elif fault == "out-of-range":
        first = next(iter(sentences(_DIRECTIVE.sub("", answer))), None)
        found = _items(prompt, "misconceptions")
        data["misconceptions"] = [
            {"id": mid, "evidence": first, "confidence": value}
            for (mid, _, _), value in zip(found, (250, -7), strict=False)
        ]
    elif fault == "bad-evidence":
        for c in data["criteria"]:
            c["verdict"], c["evidence"] = "met", FAKE_QUOTE
    text = json.dumps(data)
    if fault == "truncated":
        return text[: len(text) // 2], "length"
    return text, "stop"


def _probe_reply(probe: str, answer: str, fault: str) -> tuple[str, str, dict[str, Any] | None]:
    if fault in ("empty", "garbage"):
        return ("" if fault == "empty" else "Maybe"), "length", None
    line = next(
        (ln for ln in probe.splitlines() if ln.startswith(("Rubric point:", "Possible mistake:"))),
        "",
    )
    description = line.partition(":")[2]
    p = overlap_probability(description, _DIRECTIVE.sub("", answer))
    if line.startswith("Possible mistake:"):
        p *= 0.5  # mistakes are rarer than their words
    p = min(max(p, 0.01), 0.99)
    token = "yes" if p >= 0.5 else "no"
    if fault == "no-logprobs":
        return token, "length", None
    top = [
        {"token": "yes", "logprob": math.log(p), "bytes": None},
        {"token": "no", "logprob": math.log(1 - p), "bytes": None},
    ]
    if fault == "out-of-range":  # a server outside the spec: positive log-probabilities
        top = [{**t, "logprob": 3.0 if t["token"] == token else -50.0} for t in top]
    chosen = top[0] if token == "yes" else top[1]
    logprobs = {"content": [{**chosen, "top_logprobs": top}], "refusal": None}
    return token, "length", logprobs


# ---------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, self.fake.models(), {})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}}, {})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON"}}, {})
            return
        fake = self.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.latency:
                time.sleep(fake.latency)
            status, payload, headers = fake.chat(body, raw)
        finally:
            with fake._lock:
                fake.in_flight -= 1
        self._send(status, payload, headers)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fake OpenAI-compatible judge server (tests, bench).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    ap.add_argument("--flavour", default="generic", choices=["generic", "llama-cpp"])
    ap.add_argument("--default", default="ok", help="behaviour without a [[fake:NAME]] directive")
    args = ap.parse_args(argv)
    srv = FakeOpenAIServer(
        args.host, args.port, latency=args.latency, flavour=args.flavour, default=args.default
    )
    print(srv.url, flush=True)
    try:
        srv._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv._httpd.server_close()


if __name__ == "__main__":
    main()
