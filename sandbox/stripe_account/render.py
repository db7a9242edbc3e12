"""Records -> JSON objects in the shapes of the API version pinned by stripe 16.1.0.

Shapes follow the installed package's resource classes (stripe/_invoice.py, ...): invoice
lines carry `pricing.price_details` and `parent.subscription_item_details`, invoices carry
`parent.subscription_details`, subscription items carry the current period, discounts
carry `source.coupon`, taxes are `taxes` / `total_taxes`, discount amounts also appear as
`pretax_credit_amounts`. Related objects are ids unless expanded (see expand.py).
"""

from __future__ import annotations

from typing import Any

from nrr.sandbox.stripe_account.records import (
    Coupon,
    CreditNote,
    Customer,
    Discount,
    Event,
    Invoice,
    InvoiceLine,
    Price,
    Product,
    Subscription,
    SubscriptionItem,
    TaxAmount,
    TaxRate,
)

API_VERSION = "2026-10-28.endive"
TAX_BEHAVIOR = {"usd": "exclusive", "cad": "exclusive", "eur": "inclusive", "gbp": "inclusive"}
EMBEDDED_LINES = 10  # an invoice embeds the first page of its lines only


def product(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "object": "product",
        "active": p.active,
        "created": p.created,
        "default_price": p.default_price,
        "description": p.description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": p.metadata,
        "name": p.name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": p.unit_label,
        "updated": p.created,
        "url": None,
    }


def price(p: Price) -> dict[str, Any]:
    recurring = None
    if p.type == "recurring":
        recurring = {
            "interval": p.interval,
            "interval_count": p.interval_count,
            "meter": p.meter,
            "trial_period_days": None,
            "usage_type": p.usage_type,
        }
    return {
        "id": p.id,
        "object": "price",
        "active": p.active,
        "billing_scheme": p.billing_scheme,
        "created": p.created,
        "currency": p.currency,
        "currency_options": {
            p.currency: _currency_option(p.unit_amount, p.tax_behavior),
            **{
                currency: _currency_option(amount, TAX_BEHAVIOR.get(currency, p.tax_behavior))
                for currency, amount in p.currency_options.items()
            },
        }
        if p.currency_options
        else None,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": p.lookup_key,
        "metadata": p.metadata,
        "nickname": p.nickname,
        "product": p.product,
        "recurring": recurring,
        "tax_behavior": p.tax_behavior,
        "tiers": None
        if p.tiers is None
        else [
            {
                "flat_amount": t["flat_amount"],
                "flat_amount_decimal": None if t["flat_amount"] is None else str(t["flat_amount"]),
                "unit_amount": t["unit_amount"],
                "unit_amount_decimal": str(t["unit_amount"]),
                "up_to": t["up_to"],
            }
            for t in p.tiers
        ],
        "tiers_mode": p.tiers_mode,
        "transform_quantity": None,
        "type": p.type,
        "unit_amount": p.unit_amount,
        "unit_amount_decimal": p.unit_amount_decimal,
    }


def _currency_option(amount: int | None, tax_behavior: str) -> dict[str, Any]:
    return {
        "custom_unit_amount": None,
        "tax_behavior": tax_behavior,
        "unit_amount": amount,
        "unit_amount_decimal": None if amount is None else str(amount),
    }


def coupon(c: Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "coupon",
        "amount_off": c.amount_off,
        "created": c.created,
        "currency": c.currency,
        "currency_options": {k: {"amount_off": v} for k, v in c.currency_options.items()}
        if c.currency_options
        else None,
        "duration": c.duration,
        "duration_in_months": c.duration_in_months,
        "livemode": False,
        "max_redemptions": None,
        "metadata": c.metadata,
        "name": c.name,
        "percent_off": c.percent_off,
        "redeem_by": None,
        "times_redeemed": c.times_redeemed,
        "valid": True,
    }


def tax_rate(t: TaxRate) -> dict[str, Any]:
    return {
        "id": t.id,
        "object": "tax_rate",
        "active": True,
        "country": t.country,
        "created": t.created,
        "description": None,
        "display_name": t.display_name,
        "effective_percentage": t.percentage,
        "flat_amount": None,
        "inclusive": t.inclusive,
        "jurisdiction": t.jurisdiction,
        "jurisdiction_level": "state" if t.state else "country",
        "livemode": False,
        "metadata": {},
        "percentage": t.percentage,
        "rate_type": "percentage",
        "state": t.state,
        "tax_type": t.tax_type,
    }


def customer(c: Customer) -> dict[str, Any]:
    if c.deleted:
        return {"id": c.id, "object": "customer", "deleted": True}
    return {
        "id": c.id,
        "object": "customer",
        "address": c.address,
        "balance": c.balance,
        "business_name": None,
        "created": c.created,
        "currency": c.currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": c.delinquent,
        "description": c.description,
        "discount": None,
        "email": c.email,
        "individual_name": None,
        "invoice_prefix": c.invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": c.metadata,
        "name": c.name,
        "next_invoice_sequence": c.next_invoice_sequence,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": c.tax_exempt,
        "test_clock": None,
    }


def customer_full(c: Customer) -> dict[str, Any]:
    """A deleted customer as the `customer.deleted` event shows it: the whole object."""
    was, c.deleted = c.deleted, False
    try:
        body = customer(c)
    finally:
        c.deleted = was
    return body


def discount(d: Discount) -> dict[str, Any]:
    return {
        "id": d.id,
        "object": "discount",
        "checkout_session": None,
        "customer": d.customer,
        "customer_account": None,
        "end": d.end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": d.coupon.id, "type": "coupon"},
        "start": d.start,
        "subscription": d.subscription,
        "subscription_item": None,
    }


def subscription_item(i: SubscriptionItem) -> dict[str, Any]:
    rendered_price = price(i.price)
    return {
        "id": i.id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": i.created,
        "current_period_end": i.current_period_end,
        "current_period_start": i.current_period_start,
        "discounts": [],
        "metadata": i.metadata,
        "plan": _plan(i.price),
        "price": rendered_price,
        "quantity": i.quantity,
        "subscription": i.subscription,
        "tax_rates": [],
    }


def _plan(p: Price) -> dict[str, Any]:
    """The legacy `plan` mirror of a recurring price that subscription items still carry."""
    return {
        "id": p.id,
        "object": "plan",
        "active": p.active,
        "amount": p.unit_amount,
        "amount_decimal": p.unit_amount_decimal,
        "billing_scheme": p.billing_scheme,
        "created": p.created,
        "currency": p.currency,
        "interval": p.interval,
        "interval_count": p.interval_count,
        "livemode": False,
        "metadata": p.metadata,
        "meter": p.meter,
        "nickname": p.nickname,
        "product": p.product,
        "tiers_mode": p.tiers_mode,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": p.usage_type,
    }


def subscription(s: Subscription) -> dict[str, Any]:
    items = [subscription_item(i) for i in s.items]
    return {
        "id": s.id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": s.billing_cycle_anchor,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "itemized"}
            if s.billing_mode == "flexible"
            else None,
            "type": s.billing_mode,
            "updated_at": s.created if s.billing_mode == "flexible" else None,
        },
        "billing_thresholds": None,
        "cancel_at": s.cancel_at,
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": s.canceled_at,
        "cancellation_details": s.cancellation_details,
        "collection_method": "charge_automatically",
        "created": s.created,
        "currency": s.currency,
        "customer": s.customer,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [tax_rate(t) for t in s.default_tax_rates],
        "description": s.description,
        "discounts": [d.id for d in s.discounts],
        "ended_at": s.ended_at,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={s.id}",
        },
        "latest_invoice": s.latest_invoice,
        "livemode": False,
        "metadata": s.metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": s.pause_collection,
        "payment_settings": None,
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": s.start_date,
        "status": s.status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": s.trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": s.trial_start,
    }


def _tax(t: TaxAmount) -> dict[str, Any]:
    return {
        "amount": t.amount,
        "tax_behavior": t.behavior,
        "tax_rate_details": {"tax_rate": t.rate.id},
        "taxability_reason": "standard_rated",
        "taxable_amount": t.taxable_amount,
        "type": "tax_rate_details",
    }


def invoice_line(line: InvoiceLine) -> dict[str, Any]:
    discounts = []
    credits = []
    if line.discount is not None and line.discount_amount:
        discounts = [{"amount": line.discount_amount, "discount": line.discount.id}]
        credits = [
            {
                "amount": line.discount_amount,
                "credit_balance_transaction": None,
                "discount": line.discount.id,
                "type": "discount",
            }
        ]
    elif line.discount is not None:
        discounts = [{"amount": 0, "discount": line.discount.id}]
    if line.kind == "invoiceitem":
        parent = {
            "invoice_item_details": {
                "invoice_item": line.invoice_item,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": line.subscription,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    else:
        credited = None
        if line.credited_invoice is not None:
            credited = {
                "invoice": line.credited_invoice,
                "invoice_line_items": list(line.credited_lines or []),
            }
        parent = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": line.invoice_item,
                "proration": line.kind == "proration",
                "proration_details": {"credited_items": credited},
                "subscription": line.subscription,
                "subscription_item": line.subscription_item,
            },
            "type": "subscription_item_details",
        }
    pricing = None
    if line.price is not None:
        pricing = {
            "price_details": {"price": line.price.id, "product": line.price.product},
            "type": "price_details",
            "unit_amount_decimal": line.unit_amount_decimal,
        }
    return {
        "id": line.id,
        "object": "line_item",
        "amount": line.amount,
        "currency": line.currency,
        "description": line.description,
        "discount_amounts": discounts,
        "discountable": line.discountable,
        "discounts": [],
        "invoice": line.invoice,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"end": line.period_end, "start": line.period_start},
        "pretax_credit_amounts": credits,
        "pricing": pricing,
        "quantity": None if line.quantity is None else int(line.quantity),  # truncated
        "quantity_decimal": None if line.quantity is None else str(line.quantity),
        "subtotal": line.amount,
        "taxes": [_tax(t) for t in line.taxes],
    }


def lines_page(invoice_id: str, lines: list[InvoiceLine], limit: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [invoice_line(line) for line in lines[:limit]],
        "has_more": len(lines) > limit,
        "url": f"/v1/invoices/{invoice_id}/lines",
    }


def _total_taxes(lines: list[InvoiceLine]) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        for t in line.taxes:
            sums = grouped.setdefault((t.rate.id, t.behavior), [0, 0])
            sums[0] += t.amount
            sums[1] += t.taxable_amount
    return [
        {
            "amount": amount,
            "tax_behavior": behavior,
            "tax_rate_details": {"tax_rate": rate},
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        }
        for (rate, behavior), (amount, taxable) in grouped.items()
    ]


def invoice(inv: Invoice) -> dict[str, Any]:
    c = inv.customer
    discount_totals: dict[str, int] = {}
    for line in inv.lines:
        if line.discount is not None:
            discount_totals[line.discount.id] = (
                discount_totals.get(line.discount.id, 0) + line.discount_amount
            )
    paid = inv.amount_paid
    remaining = 0 if inv.status in ("paid", "void") else inv.amount_due - paid
    parent = None
    if inv.subscription is not None:
        parent = {
            "quote_details": None,
            "type": "subscription_details",
            "subscription_details": {
                "metadata": {},
                "subscription": inv.subscription,
                "subscription_proration_date": None,
            },
        }
    return {
        "id": inv.id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Local Stripe Sandbox",
        "account_tax_ids": None,
        "amount_due": inv.amount_due,
        "amount_overpaid": 0,
        "amount_paid": paid,
        "amount_remaining": remaining,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": inv.attempt_count,
        "attempted": inv.attempted,
        "auto_advance": inv.status in ("draft", "open"),
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": inv.created + 3600 if inv.status == "draft" else None,
        "billing_reason": inv.billing_reason,
        "collection_method": inv.collection_method,
        "created": inv.created,
        "currency": inv.currency,
        "custom_fields": None,
        "customer": c.id,
        "customer_account": None,
        "customer_address": c.address,
        "customer_email": c.email,
        "customer_name": c.name,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": c.tax_exempt,
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": inv.description,
        "discounts": inv.discounts,
        "due_date": inv.due_date,
        "effective_at": inv.finalized_at,
        "ending_balance": inv.ending_balance,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None
        if inv.status == "draft"
        else f"https://invoice.stripe.local/i/{inv.id}",
        "invoice_pdf": None
        if inv.status == "draft"
        else f"https://pay.stripe.local/invoice/{inv.id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": lines_page(inv.id, inv.lines, EMBEDDED_LINES),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": inv.next_payment_attempt,
        "number": inv.number,
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": inv.period_end,
        "period_start": inv.period_start,
        "post_payment_credit_notes_amount": inv.post_payment_credit_notes_amount,
        "pre_payment_credit_notes_amount": inv.pre_payment_credit_notes_amount,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": inv.starting_balance,
        "statement_descriptor": None,
        "status": inv.status,
        "status_transitions": {
            "finalized_at": inv.finalized_at,
            "marked_uncollectible_at": inv.marked_uncollectible_at,
            "paid_at": inv.paid_at,
            "voided_at": inv.voided_at,
        },
        "subtotal": inv.subtotal,
        "subtotal_excluding_tax": inv.subtotal - inv.inclusive_tax,
        "test_clock": None,
        "total": inv.total,
        "total_discount_amounts": [
            {"amount": amount, "discount": d} for d, amount in discount_totals.items()
        ],
        "total_excluding_tax": inv.total - inv.exclusive_tax - inv.inclusive_tax,
        "total_pretax_credit_amounts": [
            {
                "amount": amount,
                "credit_balance_transaction": None,
                "discount": d,
                "type": "discount",
            }
            for d, amount in discount_totals.items()
        ],
        "total_taxes": _total_taxes(inv.lines),
        "webhooks_delivered_at": inv.created,
    }


def credit_note_line(line: Any) -> dict[str, Any]:
    taxes = [_tax(line.tax)] if line.tax else []
    return {
        "id": line.id,
        "object": "credit_note_line_item",
        "amount": line.amount,
        "description": line.description,
        "discount_amount": 0,
        "discount_amounts": [],
        "invoice_line_item": line.invoice_line,
        "livemode": False,
        "metadata": {},
        "pretax_credit_amounts": [],
        "quantity": 1,
        "tax_rates": [],
        "taxes": taxes,
        "type": "invoice_line_item",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }


def credit_note(cn: CreditNote) -> dict[str, Any]:
    lines = [credit_note_line(line) for line in cn.lines]
    taxes = [_tax(line.tax) for line in cn.lines if line.tax]
    exclusive = sum(
        line.tax.amount for line in cn.lines if line.tax and line.tax.behavior == "exclusive"
    )
    inclusive = sum(
        line.tax.amount for line in cn.lines if line.tax and line.tax.behavior == "inclusive"
    )
    return {
        "id": cn.id,
        "object": "credit_note",
        "amount": cn.total,
        "amount_shipping": 0,
        "created": cn.created,
        "currency": cn.currency,
        "customer": cn.customer,
        "customer_account": None,
        "customer_balance_transaction": cn.customer_balance_transaction,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": cn.created,
        "invoice": cn.invoice,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/credit_notes/{cn.id}/lines",
        },
        "livemode": False,
        "memo": cn.memo,
        "metadata": {},
        "number": cn.number,
        "out_of_band_amount": None,
        "pdf": f"https://pay.stripe.local/credit_notes/{cn.id}/pdf",
        "post_payment_amount": cn.total,
        "pre_payment_amount": 0,
        "pretax_credit_amounts": [],
        "reason": cn.reason,
        "refunds": []
        if cn.refund is None
        else [
            {
                "amount_refunded": cn.total,
                "payment_record_refund": None,
                "refund": cn.refund,
                "type": "refund",
            }
        ],
        "shipping_cost": None,
        "status": cn.status,
        "subtotal": cn.subtotal,
        "subtotal_excluding_tax": cn.subtotal - inclusive,
        "total": cn.total,
        "total_excluding_tax": cn.total - exclusive - inclusive,
        "total_taxes": taxes,
        "type": cn.type,
        "voided_at": None,
    }


RENDERERS = {
    Product: product,
    Price: price,
    Coupon: coupon,
    TaxRate: tax_rate,
    Customer: customer,
    Discount: discount,
    Subscription: subscription,
    SubscriptionItem: subscription_item,
    Invoice: invoice,
    InvoiceLine: invoice_line,
    CreditNote: credit_note,
}


def render(record: Any) -> dict[str, Any]:
    return RENDERERS[type(record)](record)


# An account pinned to an older API version gets its events rendered in that version
# (Stripe renders an event in the version current when it was created). The shape that
# matters here: before 2025-09-30.clover a discount embedded its coupon (`coupon`) where it
# now names it (`source.coupon`).
OLDER_API_VERSION = "2025-08-27.basil"


def _older_discount(d: Discount) -> dict[str, Any]:
    body = {key: value for key, value in discount(d).items() if key != "source"}
    body.pop("customer_account", None)
    body["coupon"] = coupon(d.coupon)
    return body


def event(e: Event, api_version: str = API_VERSION) -> dict[str, Any]:
    older = api_version != API_VERSION and isinstance(e.obj, Discount)
    if isinstance(e.obj, Customer):
        obj = customer_full(e.obj)
    else:
        obj = _older_discount(e.obj) if older else render(e.obj)
    data: dict[str, Any] = {"object": obj}
    if e.previous is not None:
        old = _older_discount(e.previous) if older else render(e.previous)
        data["previous_attributes"] = {
            key: value for key, value in old.items() if obj.get(key) != value
        }
    return {
        "id": e.id,
        "object": "event",
        "account": None,
        "api_version": api_version,
        "context": None,
        "created": e.created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": e.type,
    }
