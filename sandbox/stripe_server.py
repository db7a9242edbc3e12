"""A local, read-only, Stripe-compatible HTTP server for tests and the demo.

    with serve(account) as server:          # starts on a free port
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": server.url})
        server.faults.fail_next(3, "500", path="/v1/invoices")
        server.rate_limit = 25               # requests per second, or None
        server.requests                      # [RequestRecord(method, path, params, status...)]

Command line (generate an account and serve it until Ctrl-C):

    python -m nrr.sandbox.stripe_server --customers 3000 --months 36 --seed 7 --port 12111

Never the production source: the real extractor talks to api.stripe.com unless
STRIPE_API_BASE points here.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nrr.sandbox.stripe_account.account import Account, generate_account
from nrr.sandbox.stripe_http.api import StripeApi, error_headers, parse_query
from nrr.sandbox.stripe_http.errors import ApiError, rate_limited
from nrr.sandbox.stripe_http.faults import Fault, Faults, RateLimiter

__all__ = ["Fault", "Faults", "RequestRecord", "StripeServer", "serve"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. `fault` names the injected fault, if any."""

    method: str
    path: str
    params: dict[str, Any]
    status: int | None  # None when the connection was dropped
    fault: str | None
    started: float
    seconds: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connections
    wbufsize = 1 << 16  # headers and body leave in one segment...
    disable_nagle_algorithm = True  # ...right away (no 40 ms delayed-ACK stalls)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `StripeServer.requests`."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        owner = self.server.owner
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        try:
            params = parse_query(query)
        except ApiError:
            params = {"_raw": query}
        fault = owner.faults.pick(path)
        kind = fault.kind if fault else None
        if fault is not None and fault.kind == "drop":
            owner.log(
                RequestRecord(method, path, params, None, kind, started, time.monotonic() - started)
            )
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault is not None and fault.kind in ("429", "500", "503"):
            status, out, body = _fault_response(fault, headers)
        elif owner.limiter is not None and not owner.limiter.allow():
            error = rate_limited()
            status, out, body = 429, error_headers(error), error.body("req_ratelimited")
            kind = "rate_limit"
        else:
            status, out, body = owner.api.handle(method, path, query, headers)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in out.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        owner.log(
            RequestRecord(method, path, params, status, kind, started, time.monotonic() - started)
        )


def _fault_response(fault: Fault, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    if fault.kind == "429":
        error = ApiError(
            429,
            "Request rate limit exceeded. You can learn more about rate "
            "limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            headers={"Retry-After": str(fault.retry_after)},
        )
    else:
        status = int(fault.kind)
        error = ApiError(
            status,
            "An unknown error occurred"
            if status == 500
            else "The service is temporarily unavailable.",
            type_="api_error",
        )
    out = error_headers(error)
    if fault.should_retry is not None:
        out["Stripe-Should-Retry"] = "true" if fault.should_retry else "false"
    out["Request-Id"] = "req_fault"
    out["Stripe-Version"] = headers.get("stripe-version", "")
    if not out["Stripe-Version"]:
        del out["Stripe-Version"]
    return error.status, out, error.body("req_fault")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: StripeServer


class StripeServer:
    """A running local Stripe. Use as a context manager or call `stop()`."""

    def __init__(
        self,
        account: Account,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sk_test_local",
        faults: Faults | None = None,
        rate_limit: float | None = None,
        restricted_keys: dict[str, set[str]] | None = None,
    ) -> None:
        self.account = account
        self.api = StripeApi(account, api_key, restricted_keys)
        self.faults = faults if faults is not None else Faults()
        self.limiter: RateLimiter | None = None
        self.rate_limit = rate_limit
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def rate_limit(self) -> float | None:
        return None if self.limiter is None else self.limiter.rate

    @rate_limit.setter
    def rate_limit(self, value: float | None) -> None:
        """Requests per second above which the server answers 429 (None: no ceiling)."""
        self.limiter = None if value is None else RateLimiter(value, time.monotonic)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(record)

    def start(self) -> StripeServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="local-stripe",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StripeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    account: Account,
    *,
    port: int = 0,
    api_key: str = "sk_test_local",
    faults: Faults | list[Fault] | None = None,
    rate_limit: float | None = None,
    restricted_keys: dict[str, set[str]] | None = None,
    host: str = "127.0.0.1",
) -> StripeServer:
    """Start serving `account` in a background thread; returns the running server."""
    if isinstance(faults, list):
        faults = Faults(faults)
    return StripeServer(
        account,
        host=host,
        port=port,
        api_key=api_key,
        faults=faults,
        rate_limit=rate_limit,
        restricted_keys=restricted_keys,
    ).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic Stripe account and serve it locally."
    )
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument(
        "--first-month", default="2023-01", help="YYYY-MM of the first simulated month"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default="sk_test_local")
    parser.add_argument("--reporting-currency", default="usd")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="requests per second before 429s (default: none)",
    )
    parser.add_argument("--fx-rates", default=None, help="write the FX rates table here")
    parser.add_argument("--truth", default=None, help="write the ground truth table here")
    args = parser.parse_args(argv)
    year, month = (int(x) for x in args.first_month.split("-"))
    started = time.monotonic()
    account = generate_account(
        args.customers,
        args.months,
        first_month=date(year, month, 1),
        seed=args.seed,
        reporting_currency=args.reporting_currency,
    )
    took = time.monotonic() - started
    if args.fx_rates:
        account.write_fx_rates(args.fx_rates)
    if args.truth:
        account.write_truth(args.truth)
    server = serve(
        account, port=args.port, host=args.host, api_key=args.api_key, rate_limit=args.rate_limit
    )
    counts = ", ".join(f"{v} {k}" for k, v in account.summary().items())
    print(f"Generated in {took:.1f}s: {counts}")
    print(f"Local Stripe serving at {server.url}  (API key: {args.api_key}; Ctrl-C stops)")
    print(f"  STRIPE_API_BASE={server.url} STRIPE_API_KEY={args.api_key}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
