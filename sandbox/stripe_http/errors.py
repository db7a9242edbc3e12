"""Stripe's error bodies and the exception the API layer raises to produce them."""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """An error response: HTTP status plus Stripe's `{"error": {...}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self, request_id: str) -> bytes:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "request_log_url": f"https://dashboard.stripe.local/logs/{request_id}",
        }
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return json.dumps({"error": error}).encode()


def missing(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def bad_param(param: str, message: str) -> ApiError:
    return ApiError(400, message, code="parameter_invalid", param=param)


def unknown_param(param: str) -> ApiError:
    return ApiError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def rate_limited() -> ApiError:
    return ApiError(
        429,
        "Request rate limit exceeded. You can learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        headers={"Retry-After": "1"},
    )
