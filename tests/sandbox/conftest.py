"""Shared accounts and a running local Stripe for the sandbox tests (small: seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import stripe

from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import StripeServer, serve


@pytest.fixture(scope="session")
def account() -> Account:
    """A mid-sized account, never mutated by tests (use `fresh_account` to advance)."""
    return generate_account(900, 30, first_month=date(2023, 1, 1), seed=11)


@pytest.fixture(scope="session")
def served_account() -> Account:
    """A small account for the HTTP tests (the stripe client is slow to build objects)."""
    return generate_account(250, 24, first_month=date(2024, 1, 1), seed=3)


@pytest.fixture
def fresh_account() -> Account:
    return generate_account(150, 14, first_month=date(2024, 1, 1), seed=3)


@pytest.fixture(scope="module")
def server(served_account: Account) -> Iterator[StripeServer]:
    with serve(served_account) as running:
        yield running


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    server.faults.clear()
    server.rate_limit = None
    return stripe.StripeClient("sk_test_local", base_addresses={"api": server.url})
