"""flask-smorest, subclassed once: the unknown-field policy, JSON parsing and error envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from shared.errors import PROBLEM_JSON, handle_http_exception

MONEY_LIMIT = Decimal("1000000000000")  # Numeric(14, 2): twelve digits before the point
#: Money in JSON: a decimal string of at most twelve digits before the point and two after.
MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
UNSIGNED_MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


class ExactParser(FlaskParser):
    """Parse JSON bodies with Decimal for numbers with a fraction, so money stays exact.

    `location="multipart"` reads a multipart/form-data body's fields and files as one.
    """

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("body is not UTF-8", "", 0) from exc
        return json.loads(text, parse_float=Decimal)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ExactParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


class ProblemSchema(ma.Schema):
    """An error, as RFC 9457 application/problem+json (shared/errors.py builds it)."""

    class Meta:
        unknown = ma.INCLUDE  # a problem may carry more members, e.g. a conversion's candidates

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    instance = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), allow_none=True
    )


class OperationIds(BasePlugin):
    """Every operation gets a unique `operationId`: its method and view, e.g. getCompanyById."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = rule.endpoint.rsplit(".", 1)[-1]
        view = "".join(part[:1].upper() + part[1:] for part in view.split("_"))
        for method, operation in operations.items():
            operation.setdefault("operationId", f"{method}{view}")


def money2properties(self, field, ret, **_kwargs) -> dict:
    """Money is a decimal string: its range becomes a pattern, never a number or a float.

    (apispec would write the range as the field serialises it: a string minimum.)
    """
    if not isinstance(field, Money):
        return {}
    minimum = ret.pop("minimum", None)
    ret.pop("maximum", None)
    ret.pop("exclusiveMinimum", None)
    ret.pop("exclusiveMaximum", None)
    unsigned = minimum is not None and Decimal(str(minimum)) >= 0
    return {
        "type": "string",
        "format": "decimal",
        "pattern": UNSIGNED_MONEY_PATTERN if unsigned else MONEY_PATTERN,
        "example": "1250.00",
    }


class Api(flask_smorest.Api):
    """The API with our problem+json envelope instead of flask-smorest's own.

    The OpenAPI document says what the API does: errors as problem+json, money as decimal
    strings, and an operationId on every operation, so a generated client works.
    """

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), OperationIds()], **options)
        self.ma_plugin.converter.add_attribute_function(money2properties)

    def _register_responses(self):
        super()._register_responses()
        components = self.spec.components
        for response in [*components.responses_lazy.values(), *components.responses.values()]:
            content = response.get("content", {})
            if "application/json" in content:
                content[PROBLEM_JSON] = content.pop("application/json")

    def handle_http_exception(self, error):
        return handle_http_exception(error)


def unstorable(text: str) -> str | None:
    """Why no database can keep `text` (a NUL, or a lone surrogate), or None."""
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def _unstorable_fields(data, prefix: str = "") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        items = [(str(key), data[key]) for key in data]
    elif isinstance(data, list | tuple):
        items = [(str(index), value) for index, value in enumerate(data)]
    else:
        return errors
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else key
        reason = unstorable(key) or (unstorable(value) if isinstance(value, str) else None)
        if reason:
            errors[name] = [reason]
        elif isinstance(value, Mapping | list | tuple):
            errors.update(_unstorable_fields(value, name))
    return errors


class Schema(ma.Schema):
    """Unknown (or read-only) fields in a request are a 422, never silently applied.

    So is text no database can store (PostgreSQL refuses NUL characters), in any field of a
    body or a query, rather than a 500 from the database.
    """

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def refuse_unstorable_text(self, data, **_kwargs):
        errors = _unstorable_fields(data)
        if errors:
            raise ma.ValidationError(errors)
        return data


class RecordSchema(Schema):
    """What every stored record shows and no client sets: id, timestamps, version."""

    id = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


def text(max_length: int, **kwargs) -> ma.fields.String:
    """A non-empty string of at most `max_length` characters."""
    return ma.fields.String(validate=ma.validate.Length(min=1, max=max_length), **kwargs)


def optional_text(max_length: int) -> ma.fields.String:
    """A string of at most `max_length` characters, or null."""
    return ma.fields.String(allow_none=True, validate=ma.validate.Length(max=max_length))


class Money(ma.fields.Decimal):
    """Exact money: a string in JSON, Decimal in Python, at most two decimal places."""

    def __init__(self, **kwargs) -> None:
        super().__init__(as_string=True, allow_nan=False, **kwargs)

    def _validated(self, value):
        if isinstance(value, float):
            raise self.make_error("invalid")
        try:
            number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except (InvalidOperation, ValueError) as exc:
            raise self.make_error("invalid") from exc
        if not number.is_finite():
            raise self.make_error("special")
        if number.as_tuple().exponent < -2:
            raise ma.ValidationError("Use at most two decimal places.")
        if abs(number) >= MONEY_LIMIT:
            raise ma.ValidationError("Amount is too large.")
        return number.quantize(Decimal("0.01"))


class ListArgs(Schema):
    """Cursor pagination arguments shared by every list endpoint."""

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)
    sort = ma.fields.String(load_default="-created_at")
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


@cache
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """`{"items": [...], "next_cursor": "..." | null}` for one item schema."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
    )


def update_schema(schema: type[ma.Schema]) -> type[ma.Schema]:
    """The PATCH variant of a schema: every field optional, same rules."""

    def __init__(self, **kwargs):
        schema.__init__(self, **{"partial": True, **kwargs})

    name = schema.__name__.removesuffix("Schema") + "UpdateSchema"
    return type(name, (schema,), {"__init__": __init__, "__module__": schema.__module__})
