"""Fault injection and the rate ceiling, seen by the real stripe client and by raw HTTP."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
import stripe

from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import Fault, Faults, StripeServer, serve


@pytest.fixture(scope="module")
def tiny():
    return generate_account(30, 6, first_month=date(2024, 1, 1), seed=1)


@pytest.fixture
def server(tiny) -> Iterator[StripeServer]:
    with serve(tiny) as running:
        yield running


def _get(server: StripeServer, path: str = "/v1/customers?limit=1"):
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer sk_test_local"})
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def _client(server: StripeServer, **options) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_local", base_addresses={"api": server.url}, **options)


def test_429_carries_retry_after_and_the_package_does_not_retry_it(server) -> None:
    server.faults.fail_next(1, "429", retry_after=2)
    status, headers = _get(server)
    assert status == 429 and headers["retry-after"] == "2"
    assert "stripe-should-retry" not in headers
    server.faults.fail_next(1, "429")
    server.clear_requests()
    with pytest.raises(stripe.RateLimitError):
        _client(server, max_network_retries=3).v1.customers.list()
    assert [r.status for r in server.requests] == [429]


def test_500s_are_retried_by_the_client_and_then_succeed(server) -> None:
    server.faults.fail_next(2, "500", path="/v1/invoices")
    server.clear_requests()
    page = _client(server, max_network_retries=3).v1.invoices.list(params={"limit": 2})
    assert len(page.data) == 2
    assert [(r.status, r.fault) for r in server.requests] == [
        (500, "500"),
        (500, "500"),
        (200, None),
    ]


def test_5xx_say_they_may_be_retried(server) -> None:
    server.faults.fail_next(1, "503")
    status, headers = _get(server)
    assert status == 503 and headers["stripe-should-retry"] == "true"
    assert "request-id" in headers


def test_every_nth_request(server) -> None:
    server.faults.add(Fault("500", every=3))
    statuses = [_get(server)[0] for _ in range(9)]
    assert statuses == [200, 200, 500] * 3


def test_a_dropped_connection_is_a_connection_error(server) -> None:
    server.faults.fail_next(1, "drop")
    with pytest.raises(stripe.APIConnectionError):
        _client(server).v1.customers.list()
    server.faults.fail_next(1, "drop")
    server.clear_requests()
    assert _client(server, max_network_retries=2).v1.customers.list().data
    assert [r.status for r in server.requests] == [None, 200]


def test_slow_responses_arrive_late_or_time_out(server) -> None:
    server.faults.fail_next(1, "slow", delay=0.5)
    started = time.monotonic()
    assert _get(server)[0] == 200
    assert time.monotonic() - started >= 0.5
    server.faults.fail_next(1, "slow", delay=1.5)
    impatient = _client(server, http_client=stripe.RequestsClient(timeout=0.3))
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.list()


def test_faults_can_target_one_path(server) -> None:
    server.faults.fail_next(2, "500", path="/v1/invoices")
    assert _get(server, "/v1/customers")[0] == 200
    invoice = server.account.invoices[0].id
    assert _get(server, f"/v1/invoices/{invoice}/lines")[0] == 500
    assert _get(server, "/v1/invoices")[0] == 500
    assert _get(server, "/v1/invoices")[0] == 200
    assert server.faults.rules == []


def test_probability_is_seeded(tiny) -> None:
    def run() -> list[int]:
        faults = Faults([Fault("500", probability=0.3)], seed=42)
        with serve(tiny, faults=faults) as server:
            return [_get(server)[0] for _ in range(80)]

    first, second = run(), run()
    assert first == second
    assert 10 <= first.count(500) <= 40


def test_faults_change_while_running(server) -> None:
    server.faults.add(Fault("503", probability=1.0))
    assert _get(server)[0] == 503
    server.faults.clear()
    assert _get(server)[0] == 200


def test_the_rate_ceiling_answers_429_with_retry_after(server) -> None:
    server.rate_limit = 10
    statuses = []
    for _ in range(30):
        status, headers = _get(server)
        statuses.append(status)
        if status == 429:
            assert headers["retry-after"] == "1"
    assert statuses.count(200) >= 10 and statuses.count(429) >= 5
    assert {r.fault for r in server.requests if r.status == 429} == {"rate_limit"}
    server.rate_limit = None
    assert _get(server)[0] == 200


def test_the_request_log_is_complete_under_concurrency(server) -> None:
    server.clear_requests()

    def hammer() -> None:
        for _ in range(25):
            _get(server, "/v1/prices?limit=3")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log = server.requests
    assert len(log) == 200
    assert {(r.method, r.path, r.status) for r in log} == {("GET", "/v1/prices", 200)}
    assert log[0].params == {"limit": "3"}
