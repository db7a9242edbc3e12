"""How fast the local Stripe generates accounts and serves them.

    .venv/bin/python benchmarks/bench_local_stripe.py            # 3,000 customers
    .venv/bin/python benchmarks/bench_local_stripe.py --big      # also 100,000 customers

Figures go to docs/local-stripe.md ("Performance"). CPU seconds are reported next to wall
seconds because the machine is shared: CPU time is what the code costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from datetime import date

import stripe

from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import serve


def _timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _walk(url: str, path: str) -> tuple[int, int]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    after, objects, pages = None, 0, 0
    while True:
        query = f"{path}?limit=100" + (f"&starting_after={after}" if after else "")
        conn.request("GET", query, headers={"Authorization": "Bearer sk_test_local"})
        body = json.loads(conn.getresponse().read())
        objects, pages = objects + len(body["data"]), pages + 1
        if not body["has_more"]:
            conn.close()
            return objects, pages
        after = body["data"][-1]["id"]


def _small_requests(url: str, count: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    for _ in range(count):
        conn.request(
            "GET", "/v1/coupons?limit=1", headers={"Authorization": "Bearer sk_test_local"}
        )
        conn.getresponse().read()
    conn.close()


def _client_walk(url: str) -> int:
    """What the extractor does: raw_request pages (JSON, no StripeObjects)."""
    client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
    after, count = None, 0
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        page = client.raw_request("get", "/v1/invoices", **params).data
        count += len(page["data"])
        if not page["has_more"]:
            return count
        after = page["data"][-1]["id"]


def generation(customers: int) -> None:
    account, wall, cpu = _timed(lambda: generate_account(customers, 36, seed=7))
    truth, twall, _ = _timed(lambda: account.truth)
    counts = account.summary()
    print(
        f"generate {customers:>7,} customers x 36 months: {wall:6.1f} s wall, {cpu:6.1f} s "
        f"CPU; truth {twall:4.1f} s ({truth.num_rows:,} rows); {counts['invoices']:,} "
        f"invoices, {counts['invoice_lines']:,} lines, {counts['events']:,} events"
    )


def serving(customers: int) -> None:
    account = generate_account(customers, 36, seed=7)
    with serve(account) as server:
        for label in ("cold (first render)", "warm (cached JSON)"):
            (objects, pages), wall, _ = _timed(lambda: _walk(server.url, "/v1/invoices"))
            print(
                f"list invoices, limit=100, {label}: {objects:,} objects in {pages} pages, "
                f"{wall:.2f} s = {objects / wall:,.0f} objects/s, {pages / wall:,.0f} pages/s"
            )
        count, wall, _ = _timed(lambda: _client_walk(server.url))
        print(f"same walk through stripe.StripeClient.raw_request: {count / wall:,.0f} objects/s")
        _, wall, _ = _timed(lambda: _small_requests(server.url, 3000))
        print(f"small requests, 1 connection: {3000 / wall:,.0f} requests/s")
        threads = [
            threading.Thread(target=_small_requests, args=(server.url, 750)) for _ in range(4)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(
            f"small requests, 4 connections: {3000 / (time.perf_counter() - started):,.0f} "
            "requests/s"
        )
        server.rate_limit = 25
        server.clear_requests()
        deadline = time.perf_counter() + 4
        host, port = server.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        while time.perf_counter() < deadline:
            conn.request("GET", "/v1/coupons", headers={"Authorization": "Bearer sk_test_local"})
            conn.getresponse().read()
        ok = sum(r.status == 200 for r in server.requests)
        print(
            f"rate ceiling 25/s, greedy client for 4 s: {ok} answered 200 "
            f"({ok / 4:.1f}/s incl. the 1-second burst), "
            f"{sum(r.status == 429 for r in server.requests)} got 429"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--big", action="store_true", help="also 100,000 customers")
    args = parser.parse_args()
    print(f"first month {date(2023, 1, 1)}, seed 7")
    generation(args.customers)
    if args.big:
        generation(100_000)
    serving(args.customers)


if __name__ == "__main__":
    main()
