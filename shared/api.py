"""flask-smorest, subclassed once: the unknown-field policy, JSON parsing and error envelope."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from functools import cache

import flask_smorest
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from shared.errors import handle_http_exception

MONEY_LIMIT = Decimal("1000000000000")  # Numeric(14, 2): twelve digits before the point


class ExactParser(FlaskParser):
    """Parse JSON bodies with Decimal for numbers with a fraction, so money stays exact."""

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


class Api(flask_smorest.Api):
    """The API with our problem+json envelope instead of flask-smorest's own."""

    def handle_http_exception(self, error):
        return handle_http_exception(error)


class Schema(ma.Schema):
    """Unknown (or read-only) fields in a request are a 422, never silently applied."""

    class Meta:
        unknown = ma.RAISE


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
