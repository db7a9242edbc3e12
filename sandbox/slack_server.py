"""A local Slack-compatible HTTP server for tests and the demo: records every request.

It speaks just enough of the Web API for the real `slack_sdk` (chat.postMessage with
metadata, conversations.history/join/list, auth.test, and the three steps of
files_upload_v2: files.getUploadURLExternal -> POST to the returned upload URL on this
server -> files.completeUploadExternal) plus incoming webhooks under /services/...

Faults are scripted per endpoint, in order, to reproduce what production does to a client:

    server.fail("chat.postMessage", status=500)              # refused, nothing posted
    server.fail("chat.postMessage", status=429, retry_after=1)
    server.fail("chat.postMessage", delay=2.0)               # hang, then refuse (not posted)
    server.fail("chat.postMessage", delay=2.0, accept=True)  # post, then answer too late
    server.fail("chat.postMessage", error="channel_not_found")

Run it by hand with `python -m nrr.sandbox.slack_server --port 8765`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "xoxb-local-test-token"
DEFAULT_CHANNELS = {"C0FINANCE1": "finance", "C0PRIVATE1": "board"}
WEBHOOK_PATH = "/services/T0LOCAL/B0LOCAL/localsecret"


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    accept: bool = False  # perform the call, then (after `delay`) answer with `status`


@dataclass
class Recorded:
    """One HTTP request as the server saw it."""

    method: str  # Web API method ("chat.postMessage"), "upload" or "webhook"
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    at: float
    answered: int | None = None  # HTTP status sent back


@dataclass
class Posted:
    """A message that landed in a channel (what a person in Slack would see)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    via: str = "api"  # api / webhook / files


class SlackServer:
    """Start with `with SlackServer() as slack:`; point SLACK_API_BASE at `slack.api_base`."""

    def __init__(
        self,
        *,
        tokens: set[str] | None = None,
        channels: dict[str, str] | None = None,
        member_of: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.tokens = tokens if tokens is not None else {DEFAULT_TOKEN}
        self.channels = dict(channels if channels is not None else DEFAULT_CHANNELS)
        self.members = set(member_of if member_of is not None else self.channels)
        self.requests: list[Recorded] = []
        self.posted: list[Posted] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def api_base(self) -> str:
        return self.url + "api/"

    @property
    def webhook_url(self) -> str:
        return self.url.rstrip("/") + WEBHOOK_PATH

    def start(self) -> SlackServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting and inspection ---------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        accept: bool = False,
    ) -> None:
        """Queue `times` faults for `method` ("chat.postMessage", "webhook", "upload", ...)."""
        if error is not None and status == 500:
            status = 200  # Slack reports API errors as HTTP 200 with ok=false
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(Fault(status, error, retry_after, delay, accept) for _ in range(times))

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    def messages(self, channel: str | None = None) -> list[Posted]:
        return [p for p in self.posted if channel is None or p.channel == channel]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.posted.clear()
            self._faults.clear()

    # --- behaviour ----------------------------------------------------------------------------
    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    def _ts(self) -> str:
        return f"{time.time():.6f}"[:-6] + f"{next(self._ids):06d}"

    def _channel(self, given: str | None) -> str | None:
        if not given:
            return None
        if given in self.channels:
            return given
        name = given.lstrip("#")
        return next((cid for cid, cname in self.channels.items() if cname == name), None)

    def _post(self, channel: str, **fields: Any) -> Posted:
        posted = Posted(channel=channel, ts=self._ts(), **fields)
        with self._lock:
            self.posted.append(posted)
        return posted

    def call(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Run Web API `method`; the dict is the JSON answer (ok or an error code)."""
        if method == "api.test":
            return {"ok": True, "args": params}
        if token not in self.tokens:
            return {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": self.url,
                "team": "Local",
                "user": "nrr-bot",
                "team_id": "T0LOCAL",
                "user_id": "U0NRRBOT",
                "bot_id": "B0NRRBOT",
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):09d}"
            self.uploads[file_id] = {
                "filename": params.get("filename"),
                "length": int(params.get("length", 0)),
                "data": None,
            }
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}
        if method == "conversations.list":
            return {
                "ok": True,
                "channels": [
                    {"id": cid, "name": name, "is_member": cid in self.members}
                    for cid, name in self.channels.items()
                ],
                "response_metadata": {"next_cursor": ""},
            }
        channel = self._channel(params.get("channel") or params.get("channel_id"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.join":
            self.members.add(channel)
            return {"ok": True, "channel": {"id": channel, "name": self.channels[channel]}}
        if channel not in self.members:
            return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postMessage":
            posted = self._post(
                channel,
                text=params.get("text") or "",
                blocks=_json(params.get("blocks")) or [],
                metadata=_json(params.get("metadata")),
            )
            return {
                "ok": True,
                "channel": channel,
                "ts": posted.ts,
                "message": {"text": posted.text, "ts": posted.ts},
            }
        if method == "files.completeUploadExternal":
            return self._complete_upload(channel, params)
        if method == "conversations.history":
            return self._history(channel, params)
        return {"ok": False, "error": "unknown_method"}

    def _complete_upload(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        files = []
        for item in _json(params.get("files")) or []:
            upload = self.uploads.get(item.get("id"))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            files.append(
                {
                    "id": item["id"],
                    "name": upload["filename"],
                    "title": item.get("title") or upload["filename"],
                    "size": len(upload["data"]),
                }
            )
        self._post(channel, text=params.get("initial_comment") or "", files=files, via="files")
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]}

    def _history(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        oldest = float(params.get("oldest") or 0)
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        with self._lock:
            found = [
                p for p in reversed(self.posted) if p.channel == channel and float(p.ts) >= oldest
            ]
        page = found[start : start + limit]
        with_metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        messages = []
        for p in page:
            message: dict[str, Any] = {"type": "message", "ts": p.ts, "text": p.text}
            if p.files:
                message["files"] = p.files
            if p.metadata and with_metadata:
                message["metadata"] = p.metadata
            messages.append(message)
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def upload(self, file_id: str, data: bytes) -> bool:
        upload = self.uploads.get(file_id)
        if upload is None:
            return False
        upload["data"] = data
        return True

    def webhook(self, path: str, params: dict[str, Any]) -> tuple[int, str]:
        if path != WEBHOOK_PATH:
            return 404, "no_service"
        if not params.get("text") and not params.get("blocks"):
            return 400, "no_text"
        self._post(
            "webhook",
            text=params.get("text") or "",
            blocks=params.get("blocks") or [],
            via="webhook",
        )
        return 200, "ok"


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _handler(server: SlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params: dict[str, Any] = dict(parse_qsl(parts.query))
            kind = self.headers.get("Content-Type", "")
            if parts.path.startswith("/api/"):
                method = parts.path[len("/api/") :]
                if "json" in kind and body:
                    params.update(json.loads(body))
                elif body:
                    params.update(parse_qsl(body.decode("utf-8")))
            elif parts.path.startswith("/upload/"):
                method = "upload"
            elif parts.path.startswith("/services/"):
                method = "webhook"
                params.update(json.loads(body or b"{}"))
            else:
                method = "unknown"
            record = Recorded(method, parts.path, dict(self.headers.items()), params, time.time())
            with server._lock:
                server.requests.append(record)
            fault = server._next_fault(method)
            if fault and not fault.accept:
                time.sleep(fault.delay)
                self._fault(record, fault)
                return
            status, answer, content_type = self._perform(method, parts.path, params, body)
            if fault:  # accepted, then answered late and/or with a failure status
                time.sleep(fault.delay)
                if fault.status != 200 or fault.error:
                    self._fault(record, fault)
                    return
            self._send(record, status, answer, content_type)

        def _perform(
            self, method: str, path: str, params: dict[str, Any], body: bytes
        ) -> tuple[int, bytes, str]:
            if method == "upload":
                ok = server.upload(path.rsplit("/", 1)[-1], body)
                return (
                    (200, f"OK - {len(body)}".encode(), "text/plain")
                    if ok
                    else (404, b"not found", "text/plain")
                )
            if method == "webhook":
                status, text = server.webhook(path, params)
                return status, text.encode(), "text/plain"
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            answer = server.call(method, params, token or params.get("token"))
            return 200, json.dumps(answer).encode(), "application/json; charset=utf-8"

        def _fault(self, record: Recorded, fault: Fault) -> None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.error:
                body = json.dumps({"ok": False, "error": fault.error}).encode()
            elif record.method == "webhook":
                body = b"rate_limited" if fault.status == 429 else b"internal_error"
            else:
                body = json.dumps(
                    {
                        "ok": False,
                        "error": "ratelimited" if fault.status == 429 else "internal_error",
                    }
                ).encode()
            self._send(record, fault.status, body, "application/json", headers)

        def _send(
            self,
            record: Recorded,
            status: int,
            body: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            record.answered = status
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = SlackServer(host=args.host, port=args.port).start()
    print(
        f"SLACK_API_BASE={server.api_base}\nSLACK_BOT_TOKEN={DEFAULT_TOKEN}\n"
        f"SLACK_CHANNEL=C0FINANCE1\nSLACK_WEBHOOK_URL={server.webhook_url}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
