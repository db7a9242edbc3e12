"""The local Stripe through the real `stripe` client: lists, filters, expand, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import pytest
import stripe

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_server import StripeServer


def _raw(
    server: StripeServer,
    path: str,
    key: str = "sk_test_local",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict]:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {key}", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_the_served_api_version_is_the_one_the_client_pins() -> None:
    assert stripe.api_version == render.API_VERSION


@pytest.mark.parametrize(
    ("service", "params", "expected"),
    [
        ("customers", {}, lambda a: [c.id for c in a.customers if not c.deleted]),
        ("subscriptions", {"status": "all"}, lambda a: [s.id for s in a.subscriptions]),
        ("invoices", {}, lambda a: [i.id for i in a.invoices]),
        ("prices", {}, lambda a: [p.id for p in a.prices if p.active and not p.inline]),
        (
            "prices",
            {"active": False},
            lambda a: [p.id for p in a.prices if not p.active and not p.inline],
        ),
        ("products", {}, lambda a: [p.id for p in a.products]),
        ("coupons", {}, lambda a: [c.id for c in a.coupons]),
        ("credit_notes", {}, lambda a: [c.id for c in a.credit_notes]),
        ("events", {}, lambda a: [e.id for e in a.events]),
    ],
)
def test_pagination_walks_every_object_exactly_once(
    client, served_account: Account, service, params, expected
) -> None:
    listed = getattr(client.v1, service).list(params={"limit": 100, **params})
    seen = [obj.id for obj in listed.auto_paging_iter()]
    assert Counter(seen) == Counter(expected(served_account))
    created = [
        obj.created
        for obj in getattr(client.v1, service).list(params={"limit": 100, **params}).data
    ]
    assert created == sorted(created, reverse=True), "newest first"


def test_ending_before_pages_back_towards_the_newest(client, served_account: Account) -> None:
    first = client.v1.invoices.list(params={"limit": 25})
    second = client.v1.invoices.list(params={"limit": 25, "starting_after": first.data[-1].id})
    back = client.v1.invoices.list(params={"limit": 25, "ending_before": second.data[0].id})
    assert [i.id for i in back.data] == [i.id for i in first.data]
    assert back.has_more is False
    middle = client.v1.invoices.list(params={"limit": 5, "ending_before": second.data[10].id})
    assert [i.id for i in middle.data] == [i.id for i in second.data[5:10]]
    assert middle.has_more is True


def test_a_page_has_stripes_list_shape(server: StripeServer) -> None:
    status, headers, body = _raw(server, "/v1/customers?limit=3")
    assert status == 200
    assert set(body) == {"object", "data", "has_more", "url"}
    assert body["object"] == "list" and body["url"] == "/v1/customers"
    assert len(body["data"]) == 3 and body["has_more"] is True
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == render.API_VERSION


def test_the_stripe_version_header_is_echoed(server: StripeServer) -> None:
    _, headers, _ = _raw(server, "/v1/coupons", headers={"Stripe-Version": "2024-06-20"})
    assert headers["Stripe-Version"] == "2024-06-20"


def test_filters(client, served_account: Account) -> None:
    customer = next(s.customer for s in served_account.subscriptions if s.status == "canceled")
    invoices = client.v1.invoices.list(params={"customer": customer, "limit": 100})
    assert {i.id for i in invoices.auto_paging_iter()} == {
        i.id for i in served_account.invoices if i.customer.id == customer
    }
    void = client.v1.invoices.list(params={"status": "void", "limit": 100})
    assert {i.id for i in void.auto_paging_iter()} == {
        i.id for i in served_account.invoices if i.status == "void"
    }
    default = client.v1.subscriptions.list(params={"limit": 100})
    assert {s.id for s in default.auto_paging_iter()} == {
        s.id for s in served_account.subscriptions if s.status != "canceled"
    }
    ended = client.v1.subscriptions.list(params={"limit": 100, "status": "canceled"})
    assert {s.status for s in ended.auto_paging_iter()} == {"canceled"}
    middle = sorted(i.created for i in served_account.invoices)[len(served_account.invoices) // 2]
    window = {"gte": middle, "lt": middle + 40 * 86_400}
    recent = client.v1.invoices.list(params={"created": window, "limit": 100})
    assert {i.id for i in recent.auto_paging_iter()} == {
        i.id for i in served_account.invoices if middle <= i.created < middle + 40 * 86_400
    }
    types = ["invoice.paid", "customer.subscription.deleted"]
    events = client.v1.events.list(params={"types": types, "limit": 100})
    kinds = Counter(e.type for e in events.auto_paging_iter())
    assert set(kinds) == set(types)
    assert kinds == Counter(e.type for e in served_account.events if e.type in types)
    wildcard = client.v1.events.list(params={"type": "invoice.*", "limit": 100})
    assert all(e.type.startswith("invoice.") for e in wildcard.auto_paging_iter())


def test_expand(client, served_account: Account) -> None:
    page = client.v1.invoices.list(
        params={"limit": 50, "expand": ["data.customer", "data.discounts"]}
    )
    assert all(isinstance(i.customer, stripe.Customer) for i in page.data)
    discounted = next(i for i in served_account.invoices if i.discounts)
    invoice = client.v1.invoices.retrieve(
        discounted.id, params={"expand": ["discounts", "lines.data.pricing.price_details.price"]}
    )
    discount = invoice.discounts[0]
    assert discount.object == "discount" and discount.source.coupon
    price = invoice.lines.data[0].pricing.price_details.price
    assert price.object == "price"
    sub = client.v1.subscriptions.retrieve(
        discounted.subscription, params={"expand": ["latest_invoice", "customer"]}
    )
    assert sub.latest_invoice.object == "invoice"
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.invoices.list(params={"expand": ["data.currency"]})
    with pytest.raises(stripe.InvalidRequestError, match=r"data\.customer"):
        client.v1.invoices.list(params={"expand": ["customer"]})


def test_tiers_come_only_when_expanded(client) -> None:
    plain = client.v1.prices.list(params={"limit": 100}).data
    assert all("tiers" not in p for p in plain)
    tiered = [
        p
        for p in client.v1.prices.list(
            params={"limit": 100, "expand": ["data.tiers"]}
        ).auto_paging_iter()
        if p.billing_scheme == "tiered"
    ]
    assert tiered and all(p.tiers[-1].up_to is None for p in tiered)


def test_invoice_lines_have_their_own_pagination(client, served_account: Account) -> None:
    long = next(i for i in served_account.invoices if len(i.lines) > 2 * render.EMBEDDED_LINES - 5)
    invoice = client.v1.invoices.retrieve(long.id)
    assert len(invoice.lines.data) == render.EMBEDDED_LINES
    assert invoice.lines.has_more is True
    assert invoice.lines.url == f"/v1/invoices/{long.id}/lines"
    walked = [
        line.id
        for line in client.v1.invoices.line_items.list(
            long.id, params={"limit": 4}
        ).auto_paging_iter()
    ]
    assert walked == [line.id for line in long.lines]
    line = client.v1.invoices.line_items.list(long.id, params={"limit": 1}).data[0]
    assert line.parent.type in ("subscription_item_details", "invoice_item_details")
    assert line.pricing.price_details.price.startswith("price_")


def test_subscription_shapes_follow_the_pinned_version(client, served_account: Account) -> None:
    sub_record = next(s for s in served_account.subscriptions if s.status == "active")
    sub = client.v1.subscriptions.retrieve(sub_record.id)
    item = sub["items"].data[0]
    assert item.current_period_start < item.current_period_end
    assert "current_period_start" not in sub
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.parent.subscription_details.subscription == sub.id
    items = client.v1.subscription_items.list(params={"subscription": sub.id})
    assert {i.id for i in items.data} == {i.id for i in sub_record.items}


def test_deleted_customers_are_not_listed_but_can_be_retrieved(
    client, served_account: Account
) -> None:
    gone = next(c for c in served_account.customers if c.deleted)
    customer = client.v1.customers.retrieve(gone.id)
    assert customer.deleted is True and customer.id == gone.id
    invoices = client.v1.invoices.list(params={"customer": gone.id, "limit": 100})
    assert invoices.data, "a deleted customer's invoices stay"


def test_unknown_ids_parameters_and_limits_are_rejected(client) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="No such customer") as error:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert error.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter: colour"):
        client.v1.customers.list(params={"colour": "red"})
    with pytest.raises(stripe.InvalidRequestError, match="less than or equal to 100"):
        client.v1.invoices.list(params={"limit": 101})
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice"):
        client.v1.invoices.list(params={"starting_after": "in_nope"})
    with pytest.raises(stripe.InvalidRequestError, match="subscription"):
        client.raw_request("get", "/v1/subscription_items")


def test_a_wrong_key_is_a_401_with_stripes_message(server: StripeServer) -> None:
    client = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": server.url})
    with pytest.raises(stripe.AuthenticationError, match="Invalid API Key provided") as error:
        client.v1.customers.list()
    assert error.value.http_status == 401
    status, headers, body = _raw(server, "/v1/customers", key="")
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    assert headers["Stripe-Should-Retry"] == "false"


def test_a_restricted_key_without_the_scope_gets_a_403(served_account: Account) -> None:
    from nrr.sandbox.stripe_server import serve

    keys = {"rk_test_customers_only": {"rak_customer_read"}}
    with serve(served_account, restricted_keys=keys) as server:
        client = stripe.StripeClient("rk_test_customers_only", base_addresses={"api": server.url})
        assert client.v1.customers.list(params={"limit": 1}).data
        with pytest.raises(stripe.PermissionError, match="rak_invoice_read") as error:
            client.v1.invoices.list()
        assert error.value.http_status == 403


def test_read_only(server: StripeServer) -> None:
    request = urllib.request.Request(
        server.url + "/v1/customers",
        data=b"name=x",
        headers={"Authorization": "Bearer sk_test_local"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400


def test_account_endpoint_for_a_harmless_health_check(client) -> None:
    assert client.v1.accounts.retrieve_current().object == "account"


def test_the_command_line_generates_and_serves(tmp_path) -> None:
    import subprocess
    import sys

    rates = tmp_path / "rates.csv"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nrr.sandbox.stripe_server",
            "--customers",
            "20",
            "--months",
            "3",
            "--port",
            "0",
            "--fx-rates",
            str(rates),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = lines[1].split("serving at ")[1].split()[0]
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        assert client.v1.customers.list(params={"limit": 100}).data
        assert rates.read_text().startswith('"currency","rate","month"')
    finally:
        process.terminate()
        process.wait(timeout=10)
