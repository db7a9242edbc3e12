"""The local Stripe against Stripe's own definitions (the pinned `stripe` package).

Every object the server can serve, of every type (event payloads and their
`previous_attributes` included), and every response of every endpoint the extractor uses,
with its expansions, is checked field by field against the package's annotated classes
(tests/sandbox/stripe_definitions.py). A field, a type or an enum value Stripe does not
define fails. The last tests show the checks do fail on such objects and requests.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_account.records import Event
from nrr.sandbox.stripe_server import StripeServer
from tests.sandbox.stripe_definitions import object_errors, request_errors


def _summary(errors: list[str]) -> list[tuple[str, int]]:
    """Errors grouped by field path (list indexes removed), with one example each."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for error in errors:
        key = ".".join(part.split("[")[0] for part in error.split(":")[0].split("."))
        counts[key] += 1
        example.setdefault(key, error)
    return [(example[key], count) for key, count in counts.most_common(20)]


def test_every_object_of_the_account_is_a_stripe_object(served_account: Account) -> None:
    records: list[Any] = [
        *served_account.world.objects.values(),
        *served_account.events,
        *(line for invoice in served_account.invoices for line in invoice.lines),
    ]
    kinds: Counter[str] = Counter()
    errors: list[str] = []
    for record in records:
        body = render.event(record) if isinstance(record, Event) else render.render(record)
        kinds[body["object"]] += 1
        errors += object_errors(body)
    for credit_note in served_account.credit_notes:
        for line in credit_note.lines:
            errors += object_errors(render.credit_note_line(line))
            kinds["credit_note_line_item"] += 1
    assert _summary(errors) == []
    expected = {
        "customer", "product", "price", "coupon", "tax_rate", "discount", "subscription",
        "subscription_item", "invoice", "line_item", "credit_note", "credit_note_line_item",
        "event",
    }  # fmt: skip
    assert expected <= set(kinds), kinds
    payloads = Counter(e.obj.__class__.__name__ for e in served_account.events)
    assert len(payloads) >= 6, payloads  # events of every kind of object were checked


def _get(server: StripeServer, path: str, params: dict[str, Any] | None = None) -> dict:
    query = []
    for key, value in (params or {}).items():
        if isinstance(value, list):
            query += [(f"{key}[]", item) for item in value]
        elif isinstance(value, dict):
            query += [(f"{key}[{sub}]", item) for sub, item in value.items()]
        else:
            query.append((key, value))
    url = server.url + path + ("?" + urlencode(query) if query else "")
    request = urllib.request.Request(url, headers={"Authorization": "Bearer sk_test_local"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _walk(server: StripeServer, path: str, params: dict[str, Any]) -> list[dict]:
    """Every page of a list, each page as served (envelope included)."""
    pages, after = [], None
    while True:
        cursor = {"starting_after": after} if after else {}
        page = _get(server, path, {**params, "limit": 100, **cursor})
        pages.append(page)
        if not page["has_more"]:
            return pages
        after = page["data"][-1]["id"]


LISTS = [
    ("/v1/customers", {}),
    ("/v1/products", {"active": "true"}),
    ("/v1/products", {"active": "false"}),
    ("/v1/prices", {"active": "true", "expand": ["data.tiers"]}),
    ("/v1/prices", {"active": "false", "expand": ["data.tiers"]}),
    ("/v1/coupons", {}),
    ("/v1/tax_rates", {}),
    ("/v1/subscriptions", {"status": "all", "expand": ["data.discounts"]}),
    ("/v1/invoices", {"expand": ["data.discounts"]}),
    ("/v1/credit_notes", {}),
    ("/v1/events", {}),
]


@pytest.mark.parametrize(("path", "params"), LISTS)
def test_every_list_response_is_stripe_shaped(
    server: StripeServer, served_account: Account, path: str, params: dict[str, Any]
) -> None:
    server.faults.clear()
    errors: list[str] = []
    objects = 0
    for page in _walk(server, path, params):
        assert set(page) == {"object", "data", "has_more", "url"}
        errors += object_errors(page)
        objects += len(page["data"])
    assert _summary(errors) == []
    assert objects > 0


def test_every_retrieve_and_child_list_is_stripe_shaped(
    server: StripeServer, served_account: Account
) -> None:
    server.faults.clear()
    errors: list[str] = []
    inline = [p for p in served_account.prices if p.inline][:20]
    assert inline
    for price in inline:
        errors += object_errors(_get(server, f"/v1/prices/{price.id}", {"expand": ["tiers"]}))
    long = [i for i in served_account.invoices if len(i.lines) > render.EMBEDDED_LINES][:5]
    assert long
    for invoice in long:
        errors += object_errors(
            _get(server, f"/v1/invoices/{invoice.id}", {"expand": ["discounts"]})
        )
        for page in _walk(server, f"/v1/invoices/{invoice.id}/lines", {}):
            errors += object_errors(page)
    for note in served_account.credit_notes[:5]:
        errors += object_errors(_get(server, f"/v1/credit_notes/{note.id}/lines"))
    for sub in served_account.subscriptions[:10]:
        errors += object_errors(_get(server, "/v1/subscription_items", {"subscription": sub.id}))
        errors += object_errors(
            _get(server, f"/v1/subscriptions/{sub.id}", {"expand": ["discounts"]})
        )
    deleted = [c for c in served_account.customers if c.deleted][:3]
    for customer in deleted:
        errors += object_errors(_get(server, f"/v1/customers/{customer.id}"))
    for event in served_account.events[:50]:
        errors += object_errors(_get(server, f"/v1/events/{event.id}"))
    assert _summary(errors) == []


# ---- the checks fail on what Stripe does not define ----------------------------------------


def test_the_object_checks_reject_fields_types_and_enums_stripe_does_not_define(
    served_account: Account,
) -> None:
    note = render.credit_note(served_account.credit_notes[0])
    assert object_errors(note) == []
    made_up = {**note, "reason": "requested_by_customer"}
    assert any("requested_by_customer" in e for e in object_errors(made_up))
    assert any("refund_reason" in e for e in object_errors({**note, "refund_reason": "x"}))
    price = render.price(served_account.prices[0])
    assert any("unit_amount" in e for e in object_errors({**price, "unit_amount": "12"}))
    assert any("interval" in e for e in object_errors(
        {**price, "recurring": {**(price["recurring"] or {}), "interval": "fortnight"}}
    ))  # fmt: skip
    invoice = render.invoice(served_account.invoices[0])
    envelope = {**invoice, "lines": {**invoice["lines"], "total_count": 3}}
    assert any("total_count" in e for e in object_errors(envelope))
    event = render.event(served_account.events[-1])
    payload = {**event["data"]["object"], "not_a_field": 1}
    bad_event = {**event, "data": {**event["data"], "object": payload}}
    assert any("not_a_field" in e for e in object_errors(bad_event))


def test_the_request_checks_reject_parameters_and_expansions_stripe_does_not_define() -> None:
    assert request_errors("GET", "/v1/prices", {"active": "false", "limit": "100"}) == []
    assert request_errors("GET", "/v1/prices", {"expand": ["data.tiers"]}) == []
    assert request_errors("GET", "/v1/subscriptions", {"status": "all"}) == []
    assert request_errors("GET", "/v1/invoices", {"created": {"gte": "1700000000"}}) == []
    assert request_errors("GET", "/v1/prices", {"include_inactive": "true"})
    assert request_errors("GET", "/v1/prices", {"active": "yes"})
    assert request_errors("GET", "/v1/subscriptions", {"status": "archived"})
    assert request_errors("GET", "/v1/invoices", {"created": {"after": "1"}})
    assert request_errors("GET", "/v1/invoices", {"expand": ["discounts"]})  # needs data.
    assert request_errors("GET", "/v1/invoices", {"expand": ["data.status"]})
    assert request_errors("GET", "/v1/subscriptions", {"expand": ["data.discounts.start"]})
    assert request_errors("POST", "/v1/prices", {})
