"""`expand[]`: replace ids by the objects they name, along dotted paths, like Stripe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nrr.sandbox.stripe_http.errors import ApiError

MAX_DEPTH = 4


def expand(node: Any, path: str, resolve: Callable[[str], dict[str, Any] | None]) -> Any:
    parts = path.split(".")
    if len([p for p in parts if p != "data"]) > MAX_DEPTH:  # list `data` steps are free
        raise ApiError(
            400,
            f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
            param="expand",
        )
    return _walk(node, parts, resolve, path)


def _walk(node: Any, parts: list[str], resolve, path: str) -> Any:
    if not parts or node is None:
        return node
    if isinstance(node, list):
        return [_walk(item, parts, resolve, path) for item in node]
    if not isinstance(node, dict):
        raise ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
    key, rest = parts[0], parts[1:]
    if key not in node:
        raise ApiError(400, f"This property cannot be expanded ({key}).", param="expand")
    node[key] = _value(node[key], key, rest, resolve, path)
    return node


def _value(value: Any, key: str, rest: list[str], resolve, path: str) -> Any:
    if isinstance(value, list):
        return [_value(item, key, rest, resolve, path) for item in value]
    if isinstance(value, str):
        resolved = resolve(value)
        if resolved is None:
            raise ApiError(400, f"This property cannot be expanded ({key}).", param="expand")
        return _walk(resolved, rest, resolve, path)
    if isinstance(value, dict):
        return _walk(value, rest, resolve, path)
    return value
