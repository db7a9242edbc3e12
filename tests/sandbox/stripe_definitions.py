"""Stripe's own definitions, read from the pinned `stripe` package, as checks.

- `object_errors(obj)`: a JSON object (of any type, found by its `object` field) against the
  package's annotated resource class: every field must be one the class defines, with a
  value of the annotated type; an enum (`Literal`) must hold one of the listed values even
  where the package also admits `str` for forward compatibility, because a value Stripe does
  not list is one the local server made up. Nested objects, lists, expandable fields and
  event payloads (`data.object`, `data.previous_attributes`) are checked the same way.
- `request_errors(path, params)`: a GET request (path and decoded query) against the
  package's parameter TypedDict of that operation (`stripe/params/_<resource>_list_params.py`
  ...): every parameter must be defined, with a value of its type and enum, and every
  `expand` path must name expandable fields of the objects it walks.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
import typing
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin

import stripe
import typing_extensions
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_object import StripeObject, UntypedStripeObject

# Fields Stripe documents as "includable": sent only when the request expands them. The
# package cannot say so (its annotations do not mark them); the API reference does
# ("This field is not included by default. To include it in the response, expand the
# `tiers` field." on Price.tiers and Price.currency_options).
INCLUDABLE = {(stripe.Price, "tiers"), (stripe.Price, "currency_options")}


@cache
def _class(name: str) -> Any:
    """A resource class by its Python name (ForwardRef('Product') -> stripe.Product)."""
    found = getattr(stripe, name, None)
    if inspect.isclass(found):
        return found
    for module, class_name in OBJECT_CLASSES.values():
        if class_name == name:
            return getattr(importlib.import_module(module), class_name)
    if name.endswith("Resource"):  # `from stripe._card import Card as CardResource`
        return _class(name.removesuffix("Resource"))
    raise LookupError(f"no stripe class named {name}")


def object_class(object_name: str) -> type[StripeObject] | None:
    entry = OBJECT_CLASSES.get(object_name)
    if entry is None:
        return None
    return getattr(importlib.import_module(entry[0]), entry[1])


@cache
def fields(cls: type) -> dict[str, Any]:
    """The annotated fields of a StripeObject class (and its bases), ClassVars left out."""
    merged: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if base in (StripeObject, object, dict) or not issubclass(base, StripeObject):
            continue
        for name, annotation in vars(base).get("__annotations__", {}).items():
            if get_origin(annotation) is typing.ClassVar or name.startswith("_"):
                continue
            merged[name] = annotation
    return merged


def _resolve(tp: Any) -> Any:
    if isinstance(tp, ForwardRef):
        return _class(tp.__forward_arg__)
    if isinstance(tp, str):
        return _class(tp)
    return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _literals(args: tuple[Any, ...]) -> set[Any]:
    values: set[Any] = set()
    for arg in args:
        if get_origin(arg) is Literal:
            values |= set(get_args(arg))
    return values


def check(value: Any, tp: Any, path: str, errors: list[str]) -> None:
    """Append to `errors` every way `value` (decoded JSON) departs from annotation `tp`."""
    tp = _resolve(tp)
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return
    if _is_union(tp):
        args = tuple(_resolve(a) for a in args)
        if value is None:
            if type(None) not in args:
                errors.append(f"{path}: null where Stripe never sends null")
            return
        enum = _literals(args)
        if (
            enum
            and isinstance(value, str)
            and all(a is str or get_origin(a) is Literal or a is type(None) for a in args)
        ):
            if value not in enum:
                errors.append(f"{path}: {value!r} is not one of Stripe's {sorted(enum)}")
            return
        attempts = []
        for arg in args:
            if arg is type(None):
                continue
            found: list[str] = []
            check(value, arg, path, found)
            if not found:
                return
            attempts.append(found)
        # the closest alternative (fewest errors) explains best
        errors.extend(min(attempts, key=len) if attempts else [f"{path}: no type fits"])
        return
    if origin is Literal:
        if value not in args:
            errors.append(f"{path}: {value!r} is not one of Stripe's {list(args)}")
        return
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            check(item, args[0] if args else Any, f"{path}[{index}]", errors)
        return
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for key, item in value.items():
            check(item, args[1] if len(args) == 2 else Any, f"{path}.{key}", errors)
        return
    if origin is ListObject or tp is ListObject:
        _check_list(value, args[0] if args else Any, path, errors)
        return
    if origin is UntypedStripeObject or tp is UntypedStripeObject:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {type(value).__name__}")
        return
    if inspect.isclass(tp) and issubclass(tp, StripeObject):
        check_object(value, tp, path, errors)
        return
    _check_scalar(value, tp, path, errors)


def _check_scalar(value: Any, tp: Any, path: str, errors: list[str]) -> None:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp is Decimal:  # decimals travel as strings ("1250.5")
        ok = isinstance(value, str)
        if ok:
            try:
                Decimal(value)
            except InvalidOperation:
                ok = False
    else:
        errors.append(f"{path}: cannot check against {tp!r}")
        return
    if not ok:
        errors.append(f"{path}: {value!r} is not a {getattr(tp, '__name__', tp)}")


def _check_list(value: Any, item_type: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a list object, got {type(value).__name__}")
        return
    allowed = {"object", "data", "has_more", "url"}
    for key in value:
        if key not in allowed:
            errors.append(f"{path}.{key}: not a field of Stripe's list object")
    if value.get("object") != "list":
        errors.append(f"{path}.object: {value.get('object')!r} is not 'list'")
    check(value.get("has_more"), bool, f"{path}.has_more", errors)
    check(value.get("url"), str, f"{path}.url", errors)
    check(value.get("data"), list[item_type], f"{path}.data", errors)


def check_object(value: Any, cls: type, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a {cls.__name__} object, got {type(value).__name__}")
        return
    declared = fields(cls)
    named = value.get("object")
    if isinstance(named, str) and "OBJECT_NAME" in vars(cls) and named != cls.OBJECT_NAME:
        errors.append(f"{path}.object: {named!r} where Stripe sends {cls.OBJECT_NAME!r}")
    for key, item in value.items():
        if key not in declared:
            errors.append(f"{path}.{key}: not a field of Stripe's {cls.__qualname__}")
            continue
        check(item, declared[key], f"{path}.{key}", errors)
    if cls is stripe.Event and isinstance(value.get("data"), dict):
        _check_event_data(value["data"], f"{path}.data", errors)


def _check_event_data(data: dict[str, Any], path: str, errors: list[str]) -> None:
    """An event carries an object of its own type, and `previous_attributes` of its fields."""
    payload = data.get("object")
    cls = object_class(payload.get("object")) if isinstance(payload, dict) else None
    if cls is None:
        errors.append(f"{path}.object: no Stripe class for {payload!r:.60}")
        return
    check_object(payload, cls, f"{path}.object", errors)
    previous = data.get("previous_attributes")
    if isinstance(previous, dict):
        declared = fields(cls)
        for key, item in previous.items():
            if key not in declared:
                errors.append(f"{path}.previous_attributes.{key}: not a field of {cls.__name__}")
            else:
                check(item, declared[key], f"{path}.previous_attributes.{key}", errors)


def object_errors(obj: dict[str, Any], path: str = "") -> list[str]:
    """Every departure of one served object from its Stripe class (found by `object`)."""
    name = obj.get("object")
    if name == "list":
        errors: list[str] = []
        for index, item in enumerate(obj.get("data") or []):
            errors += object_errors(item, f"{path}data[{index}]")
        return errors
    cls = object_class(name)
    if cls is None:
        return [f"{path or '<root>'}: Stripe defines no object {name!r}"]
    errors = []
    check_object(obj, cls, path or name, errors)
    return errors


# ---- requests -----------------------------------------------------------------------------

# GET path -> (params module, TypedDict name, class whose fields `expand` walks, is a list)
_ID = r"[^/]+"
OPERATIONS: list[tuple[str, str, str, str, bool]] = [
    (r"/v1/customers", "_customer_list_params", "CustomerListParams", "Customer", True),
    (rf"/v1/customers/{_ID}", "_customer_retrieve_params", "CustomerRetrieveParams", "Customer",
     False),
    (r"/v1/products", "_product_list_params", "ProductListParams", "Product", True),
    (rf"/v1/products/{_ID}", "_product_retrieve_params", "ProductRetrieveParams", "Product",
     False),
    (r"/v1/prices", "_price_list_params", "PriceListParams", "Price", True),
    (rf"/v1/prices/{_ID}", "_price_retrieve_params", "PriceRetrieveParams", "Price", False),
    (r"/v1/coupons", "_coupon_list_params", "CouponListParams", "Coupon", True),
    (rf"/v1/coupons/{_ID}", "_coupon_retrieve_params", "CouponRetrieveParams", "Coupon", False),
    (r"/v1/subscriptions", "_subscription_list_params", "SubscriptionListParams",
     "Subscription", True),
    (rf"/v1/subscriptions/{_ID}", "_subscription_retrieve_params",
     "SubscriptionRetrieveParams", "Subscription", False),
    (r"/v1/subscription_items", "_subscription_item_list_params",
     "SubscriptionItemListParams", "SubscriptionItem", True),
    (r"/v1/invoices", "_invoice_list_params", "InvoiceListParams", "Invoice", True),
    (rf"/v1/invoices/{_ID}", "_invoice_retrieve_params", "InvoiceRetrieveParams", "Invoice",
     False),
    (rf"/v1/invoices/{_ID}/lines", "_invoice_list_lines_params", "InvoiceListLinesParams",
     "InvoiceLineItem", True),
    (r"/v1/credit_notes", "_credit_note_list_params", "CreditNoteListParams", "CreditNote",
     True),
    (rf"/v1/credit_notes/{_ID}", "_credit_note_retrieve_params", "CreditNoteRetrieveParams",
     "CreditNote", False),
    (rf"/v1/credit_notes/{_ID}/lines", "_credit_note_list_lines_params",
     "CreditNoteListLinesParams", "CreditNoteLineItem", True),
    (r"/v1/events", "_event_list_params", "EventListParams", "Event", True),
    (rf"/v1/events/{_ID}", "_event_retrieve_params", "EventRetrieveParams", "Event", False),
]  # fmt: skip


def _hints(typed_dict: Any) -> dict[str, Any]:
    """A parameter TypedDict's keys and evaluated annotations, client options left out."""
    namespace = vars(importlib.import_module(typed_dict.__module__))
    options = set(stripe.RequestOptions.__annotations__)  # api_key, stripe_version...
    return {
        key: typing._eval_type(annotation, namespace, None)  # type: ignore[attr-defined]
        for key, annotation in typed_dict.__annotations__.items()
        if key not in options
    }


def _typed_dict_fields(module: str, name: str) -> dict[str, Any]:
    return _hints(getattr(importlib.import_module(f"stripe.params.{module}"), name))


def _strip_required(tp: Any) -> Any:
    while get_origin(tp) in (typing_extensions.NotRequired, typing_extensions.Required):
        tp = get_args(tp)[0]
    return tp


def _query_value_errors(value: Any, tp: Any, path: str, errors: list[str]) -> None:
    """A decoded query value (strings, lists, dicts) against a parameter annotation."""
    tp = _strip_required(tp)
    origin, args = get_origin(tp), get_args(tp)
    if _is_union(tp):
        enum = _literals(args)
        if enum and isinstance(value, str):
            if value not in enum:
                errors.append(f"{path}: {value!r} is not one of Stripe's {sorted(enum)}")
            return
        attempts = []
        for arg in args:
            found: list[str] = []
            _query_value_errors(value, arg, path, found)
            if not found:
                return
            attempts.append(found)
        errors.extend(min(attempts, key=len))
        return
    if origin is Literal:
        if value not in args:
            errors.append(f"{path}: {value!r} is not one of Stripe's {list(args)}")
        return
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            _query_value_errors(item, args[0], f"{path}[{index}]", errors)
        return
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a hash")
            return
        hints = _hints(tp)
        for key, item in value.items():
            if key not in hints:
                errors.append(f"{path}[{key}]: not a parameter Stripe defines")
            else:
                _query_value_errors(item, hints[key], f"{path}[{key}]", errors)
        return
    if tp is bool:
        ok = value in ("true", "false")
    elif tp is int:
        ok = isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
    elif tp is str:
        ok = isinstance(value, str)
    else:
        errors.append(f"{path}: cannot check against {tp!r}")
        return
    if not ok:
        errors.append(f"{path}: {value!r} is not a {tp.__name__}")


def expand_errors(path: str, cls: type, *, list_call: bool) -> list[str]:
    """Whether each segment of an `expand` path names an expandable (or includable) field."""
    segments = path.split(".")
    if list_call:
        if segments[0] != "data":
            return [f"expand {path}: a list's expand paths start with 'data.'"]
        segments = segments[1:]
    current: Any = cls
    for segment in segments:
        if not (inspect.isclass(current) and issubclass(current, StripeObject)):
            return [f"expand {path}: {segment!r} is inside a value that is not an object"]
        declared = fields(current)
        if segment not in declared:
            return [f"expand {path}: {segment!r} is not a field of {current.__qualname__}"]
        tp = declared[segment]
        target = _expandable_target(tp)
        if target is None and (current, segment) not in INCLUDABLE:
            return [f"expand {path}: {current.__qualname__}.{segment} is not expandable"]
        current = target if target is not None else _object_in(tp)
    return []


def _object_in(tp: Any) -> Any:
    """The StripeObject class inside an annotation (Optional, List...), if any."""
    tp = _resolve(tp)
    if inspect.isclass(tp) and issubclass(tp, StripeObject):
        return tp
    for arg in get_args(tp):
        found = _object_in(arg)
        if found is not None:
            return found
    return None


def _expandable_target(tp: Any) -> Any:
    """The class an ExpandableField (Union[str, Class], maybe in Optional/List) expands to."""
    tp = _resolve(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, typing.List):  # noqa: UP006
        return _expandable_target(args[0])
    if _is_union(tp):
        resolved = [_resolve(a) for a in args]
        if str in resolved:
            for arg in resolved:
                if inspect.isclass(arg) and issubclass(arg, StripeObject):
                    return arg
        for arg in resolved:
            if arg is not type(None) and get_origin(arg) is not None:
                found = _expandable_target(arg)
                if found is not None:
                    return found
    return None


def request_errors(method: str, path: str, params: dict[str, Any]) -> list[str]:
    """Every departure of one request from the package's definition of its operation."""
    if method != "GET":
        return [f"{method} {path}: the extractor only reads"]
    matches = [op for op in OPERATIONS if re.fullmatch(op[0], path)]
    if not matches:
        return [f"GET {path}: not an operation the checks know"]
    _, module, name, cls_name, list_call = matches[0]
    defined = _typed_dict_fields(module, name)
    cls = _class(cls_name)
    errors: list[str] = []
    for key, value in params.items():
        if key not in defined:
            errors.append(f"GET {path}: {key} is not a parameter of {name}")
            continue
        _query_value_errors(value, defined[key], f"GET {path} {key}", errors)
        if key == "expand":
            for expand_path in value if isinstance(value, list) else [value]:
                errors += expand_errors(expand_path, cls, list_call=list_call)
    return errors
