"""The request -> response logic of the local Stripe, without any HTTP plumbing.

`StripeApi.handle(method, path, query, headers)` authenticates, routes, validates the
parameters like Stripe (unknown parameters and bad values are 400s, unknown ids 404s),
and returns (status, headers, body). Per-object JSON is cached per account version, so
a list page costs a binary search and a join of cached bytes.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qsl

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_account.records import (
    Customer,
    Event,
    Invoice,
    Price,
    Subscription,
    SubscriptionItem,
)
from nrr.sandbox.stripe_http.errors import ApiError, bad_param, missing, unknown_param
from nrr.sandbox.stripe_http.expand import expand
from nrr.sandbox.stripe_http.listing import (
    INVOICE_STATUSES,
    RESOURCES,
    SUBSCRIPTION_STATUSES,
    Listing,
    page,
)

LIST_PARAMS = {"limit", "starting_after", "ending_before", "created", "expand"}
ACCOUNT_ID = "acct_1LocalSandbox00"


def parse_query(query: str) -> dict[str, Any]:
    """Stripe's form encoding: a[b]=1 -> {'a': {'b': '1'}}; a[]=1 or a[0]=1 -> {'a': ['1']}."""
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if "[" in key and key.endswith("]"):
            base, sub = key[:-1].split("[", 1)
            if sub == "" or sub.isdigit():
                params.setdefault(base, [])
                if not isinstance(params[base], list):
                    raise bad_param(base, f"Invalid array: {base}")
                params[base].append(value)
            else:
                params.setdefault(base, {})
                if not isinstance(params[base], dict):
                    raise bad_param(base, f"Invalid hash: {base}")
                params[base][sub] = value
        else:
            params[key] = value
    return params


class StripeApi:
    """Serves one account. Thread-safe: reads happen under the account's lock."""

    def __init__(
        self, account: Account, api_key: str, restricted_keys: dict[str, set[str]] | None = None
    ) -> None:
        self.account = account
        self.api_key = api_key
        # restricted key -> the permissions it has, e.g. {"rak_customer_read", ...}
        self.restricted_keys = dict(restricted_keys or {})
        self._version = -1
        self._listings: dict[str, Listing] = {}
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # ---- entry point ---------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        request_id = "req_" + uuid.uuid4().hex[:14]
        out = {
            "Request-Id": request_id,
            "Stripe-Version": headers.get("stripe-version") or render.API_VERSION,
        }
        try:
            key = self._authenticate(headers)
            if method != "GET":
                raise ApiError(400, "This local Stripe is read-only: only GET requests are served.")
            body = self._route(path, parse_query(query), key)
            return 200, out, body
        except ApiError as error:
            return error.status, {**out, **error_headers(error)}, error.body(request_id)

    def _authenticate(self, headers: dict[str, str]) -> str:
        header = headers.get("authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API "
                "key in the Authorization header, using Bearer auth (e.g. "
                "'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if key != self.api_key and key not in self.restricted_keys:
            raise ApiError(401, f"Invalid API Key provided: {_redact(key)}")
        return key

    def _permit(self, key: str, permission: str) -> None:
        if key in self.restricted_keys and permission not in self.restricted_keys[key]:
            raise ApiError(
                403,
                f"The provided key '{_redact(key)}' does not have the required permissions "
                f"for this endpoint on account '{ACCOUNT_ID}'. Having the '{permission}' "
                "permission would allow this request to continue.",
            )

    # ---- routing ---------------------------------------------------------------------------
    def _route(self, path: str, params: dict[str, Any], key: str) -> bytes:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "v1":
            raise ApiError(404, f"Unrecognized request URL (GET: {path}).")
        name, rest = parts[1], parts[2:]
        if name in ("account", "balance") and not rest:
            return self._static(name)
        if name == "subscription_items":
            self._permit(key, "rak_subscription_read")
            with self.account.lock:
                return self._subscription_items(rest, params)
        resource = RESOURCES.get(name)
        if resource is None:
            raise ApiError(404, f"Unrecognized request URL (GET: {path}).")
        self._permit(key, resource.permission)
        with self.account.lock:
            self._refresh()
            if not rest:
                return self._list(resource, params)
            record = self._find(resource, rest[0])
            if len(rest) == 1:
                return self._retrieve(record, params)
            if len(rest) == 2 and rest[1] == "lines" and name in ("invoices", "credit_notes"):
                return self._lines(record, params, name)
        raise ApiError(404, f"Unrecognized request URL (GET: {path}).")

    def _refresh(self) -> None:
        with self._lock:
            if self._version != self.account.version:
                self._listings.clear()
                self._cache.clear()
                self._version = self.account.version

    def _listing(self, name: str) -> Listing:
        listing = self._listings.get(name)
        if listing is None:
            resource = RESOURCES[name]
            listing = self._listings[name] = Listing(resource, resource.records(self.account))
        return listing

    def _find(self, resource, object_id: str) -> Any:
        if resource.name == "events":
            listing = self._listing("events")
            position = listing.position.get(object_id)
            record = None if position is None else listing.records[position]
        else:
            record = self.account.get(object_id)
        if record is None or resource.object_name.replace(" ", "_") != _object_name(record):
            raise missing(resource.object_name, object_id)
        return record

    # ---- bodies ----------------------------------------------------------------------------
    def _json(self, record: Any) -> bytes:
        cached = self._cache.get(record.id)
        if cached is None:
            body = self._event(record) if isinstance(record, Event) else render.render(record)
            inner = record.obj if isinstance(record, Event) else record
            if isinstance(inner, Price | Subscription | SubscriptionItem):
                drop_includable(body, ())  # the only objects that embed prices
            cached = self._cache[record.id] = json.dumps(body, separators=(",", ":")).encode()
        return cached

    def _expanded(self, record: Any, paths: list[str]) -> bytes:
        body = self._event(record) if isinstance(record, Event) else render.render(record)
        for path in paths:
            body = expand(body, path, self._resolve)
        drop_includable(body, paths)
        return json.dumps(body, separators=(",", ":")).encode()

    def _event(self, record: Event) -> dict[str, Any]:
        """An event in the API version the account's events are created with."""
        return render.event(record, self.account.events_api_version or render.API_VERSION)

    def _resolve(self, object_id: str) -> dict[str, Any] | None:
        record = self.account.get(object_id)
        return None if record is None else render.render(record)

    def _list(self, resource, params: dict[str, Any]) -> bytes:
        allowed = (
            LIST_PARAMS | set(resource.filters) | set(resource.indexed) | set(resource.list_filters)
        )
        for param in params:
            if param not in allowed:
                raise unknown_param(param)
        if "status" in params:
            _check_status(resource.name, params["status"])
        limit = _limit(params)
        expand_paths = _expand_paths(params, list_call=True)
        records, has_more = page(self._listing(resource.name), params, limit)
        if expand_paths:
            items = [self._expanded(r, expand_paths) for r in records]
        else:
            items = [self._json(r) for r in records]
        return _list_body(items, has_more, f"/v1/{resource.name}")

    def _retrieve(self, record: Any, params: dict[str, Any]) -> bytes:
        for param in params:
            if param != "expand":
                raise unknown_param(param)
        paths = _expand_paths(params, list_call=False)
        return self._expanded(record, paths) if paths else self._json(record)

    def _lines(self, record: Any, params: dict[str, Any], name: str) -> bytes:
        for param in params:
            if param not in ("limit", "starting_after", "ending_before", "expand"):
                raise unknown_param(param)
        limit = _limit(params)
        lines = record.lines
        ids = [line.id for line in lines]
        lo, hi = 0, len(lines)
        after, before = params.get("starting_after"), params.get("ending_before")
        if after is not None:
            if after not in ids:
                raise missing("line item", after, "starting_after")
            lo = ids.index(after) + 1
        if before is not None:
            if before not in ids:
                raise missing("line item", before, "ending_before")
            hi = ids.index(before)
            lo = max(lo, hi - limit)
        chosen = lines[lo : min(hi, lo + limit)]
        has_more = (lo > 0) if before is not None else (lo + limit < hi)
        renderer = render.invoice_line if isinstance(record, Invoice) else render.credit_note_line
        paths = _expand_paths(params, list_call=True)
        items = []
        for line in chosen:
            body = renderer(line)
            for path in paths:
                body = expand(body, path, self._resolve)
            drop_includable(body, paths)
            items.append(json.dumps(body, separators=(",", ":")).encode())
        return _list_body(items, has_more, f"/v1/{name}/{record.id}/lines")

    def _subscription_items(self, rest: list[str], params: dict[str, Any]) -> bytes:
        if rest:
            record = self.account.get(rest[0])
            if not isinstance(record, SubscriptionItem):
                raise missing("subscription_item", rest[0])
            return self._retrieve(record, params)
        for param in params:
            if param not in ("limit", "starting_after", "ending_before", "expand", "subscription"):
                raise unknown_param(param)
        sub_id = params.get("subscription")
        if not sub_id:
            raise ApiError(
                400,
                "Missing required param: subscription.",
                code="parameter_missing",
                param="subscription",
            )
        sub = self.account.get(sub_id)
        if sub is None or _object_name(sub) != "subscription":
            raise missing("subscription", sub_id, "subscription")
        limit = _limit(params)
        items = sorted(sub.items, key=lambda i: (i.created, i.id), reverse=True)
        ids = [i.id for i in items]
        lo = 0
        if params.get("starting_after") in ids:
            lo = ids.index(params["starting_after"]) + 1
        chosen = items[lo : lo + limit]
        body = []
        for item in chosen:
            rendered = render.subscription_item(item)
            drop_includable(rendered, ())
            body.append(json.dumps(rendered, separators=(",", ":")).encode())
        return _list_body(body, lo + limit < len(items), "/v1/subscription_items")

    def _static(self, name: str) -> bytes:
        if name == "account":
            body = {
                "id": ACCOUNT_ID,
                "object": "account",
                "business_profile": {"name": "Local Stripe Sandbox"},
                "charges_enabled": True,
                "country": "US",
                "default_currency": "usd",
                "details_submitted": True,
                "type": "standard",
            }
        else:
            body = {
                "object": "balance",
                "available": [{"amount": 0, "currency": "usd"}],
                "livemode": False,
                "pending": [{"amount": 0, "currency": "usd"}],
            }
        return json.dumps(body).encode()


INCLUDABLE = ("tiers", "currency_options")  # price fields sent only when expanded


def drop_includable(node: Any, paths: list[str] | tuple[str, ...]) -> None:
    """Remove fields Stripe only includes on request: a price's `tiers` and
    `currency_options` (expand `tiers`, `currency_options`)."""
    asked = {
        name for name in INCLUDABLE for path in paths if path == name or path.endswith("." + name)
    }
    if asked == set(INCLUDABLE):
        return
    if isinstance(node, dict):
        if node.get("object") == "price":
            for name in INCLUDABLE:
                if name not in asked:
                    node.pop(name, None)
        for value in node.values():
            if isinstance(value, dict | list):
                drop_includable(value, paths)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                drop_includable(value, paths)


def error_headers(error: ApiError) -> dict[str, str]:
    """Stripe-Should-Retry: true on 5xx, false on client errors, absent on a plain 429."""
    headers = {}
    if error.status >= 500:
        headers["Stripe-Should-Retry"] = "true"
    elif error.status != 429:
        headers["Stripe-Should-Retry"] = "false"
    headers.update(error.headers)
    return headers


def _object_name(record: Any) -> str:
    if isinstance(record, Customer):
        return "customer"
    name = type(record).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _redact(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key


def _limit(params: dict[str, Any]) -> int:
    raw = params.get("limit", "10")
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise bad_param("limit", f"Invalid integer: {raw}") from None
    if not 1 <= limit <= 100:
        raise bad_param(
            "limit", "This value must be greater than or equal to 1 and less than or equal to 100."
        )
    return limit


def _expand_paths(params: dict[str, Any], *, list_call: bool) -> list[str]:
    raw = params.get("expand", [])
    paths = [raw] if isinstance(raw, str) else list(raw)
    if not list_call:
        return paths
    out = []
    for path in paths:
        if not path.startswith("data."):
            raise ApiError(
                400,
                f"This property cannot be expanded ({path}). You may want to "
                f"try expanding 'data.{path}' instead.",
                param="expand",
            )
        out.append(path[5:])
    return out


def _check_status(name: str, status: Any) -> None:
    allowed = SUBSCRIPTION_STATUSES if name == "subscriptions" else INVOICE_STATUSES
    if name in ("subscriptions", "invoices") and status not in allowed:
        raise bad_param("status", f"Invalid status: must be one of {', '.join(sorted(allowed))}")


def _list_body(items: list[bytes], has_more: bool, url: str) -> bytes:
    return b"".join(
        (
            b'{"object":"list","data":[',
            b",".join(items),
            b'],"has_more":',
            b"true" if has_more else b"false",
            b',"url":"',
            url.encode(),
            b'"}',
        )
    )
