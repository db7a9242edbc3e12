"""Shaping observed Stripe objects into lake rows.

- Expanded discounts are collapsed back to their ids (as an unexpanded object has them)
  and kept as objects of their own: the same object then has the same JSON whether it came
  from an expanded list or from an event, so duplicates compare equal.
- An invoice's lines go to their own dataset (`invoice_lines`), each line noted with its
  invoice's customer and creation time; the invoice keeps the list's envelope only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def collapse_discounts(obj: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`obj` with discount ids instead of expanded discounts, and the discount objects."""
    found: list[dict[str, Any]] = []

    def collapse(discounts: Any) -> Any:
        if not isinstance(discounts, list):
            return discounts
        ids = []
        for item in discounts:
            if isinstance(item, Mapping):
                found.append(dict(item))
                ids.append(item.get("id"))
            else:
                ids.append(item)
        return ids

    result = dict(obj)
    if "discounts" in result:
        result["discounts"] = collapse(result["discounts"])
    items = result.get("items")
    if isinstance(items, Mapping) and isinstance(items.get("data"), list):
        result["items"] = {
            **items,
            "data": [
                {**item, "discounts": collapse(item.get("discounts"))}
                if "discounts" in item
                else item
                for item in items["data"]
            ],
        }
    return result, found


def embedded_list(obj: Mapping[str, Any], field: str) -> tuple[list[dict[str, Any]], bool]:
    """The objects of an embedded list (`lines`, `items`) and whether more pages exist."""
    envelope = obj.get(field)
    if not isinstance(envelope, Mapping):
        return [], False
    return list(envelope.get("data") or []), bool(envelope.get("has_more"))


def with_complete_list(
    obj: Mapping[str, Any], field: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """`obj` whose embedded list `field` holds every item (all pages fetched)."""
    envelope = dict(obj.get(field) or {"object": "list"})
    envelope.update(data=items, has_more=False, total_count=len(items))
    return {**obj, field: envelope}


def split_invoice(
    invoice: Mapping[str, Any], lines: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The invoice without its line objects, its lines, and the notes each line carries.

    A line's JSON does not say which customer it bills or when its invoice was created:
    the notes do (`customer_id`, `invoice_created`, `invoice_id`).
    """
    envelope = {k: v for k, v in (invoice.get("lines") or {}).items() if k != "data"}
    envelope.update(has_more=False, total_count=len(lines))
    head = {**invoice, "lines": envelope}
    customer = invoice.get("customer")
    notes = {
        "invoice_id": invoice.get("id"),
        "customer_id": customer.get("id") if isinstance(customer, Mapping) else customer,
        "invoice_created": invoice.get("created"),
    }
    return head, lines, notes
