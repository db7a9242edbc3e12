"""Reading fields out of raw Stripe JSON objects without tripping on absent parts.

Stripe objects nest optional sub-objects (`parent.subscription_item_details`,
`pricing.price_details`, `cancellation_details`) and expandable fields that are either an id
or the whole object; these helpers read them the same way everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dig(obj: Mapping[str, Any] | None, *path: str) -> Any:
    """`obj[path[0]][path[1]]...`, or None as soon as a step is missing or null."""
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def ref(value: Any) -> str | None:
    """The id of an expandable field, whether it holds an id or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def total(items: list[Mapping[str, Any]] | None, *, where: Mapping[str, Any] | None = None) -> int:
    """Sum of `amount` over `items`, optionally only those matching every `where` field."""
    result = 0
    for item in items or []:
        if where and any(item.get(key) != wanted for key, wanted in where.items()):
            continue
        result += int(item.get("amount") or 0)
    return result


def to_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal objects give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def metadata_json(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    return to_json(metadata) if metadata else None
