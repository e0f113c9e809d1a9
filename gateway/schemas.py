"""Users and login. `password` is write-only; the hash never leaves the gateway."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from shared.api import ListArgs, Schema, update_schema
from shared.auth import ROLES


class UserSchema(Schema):
    id = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True)
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    is_active = fields.Boolean(load_default=True)
    password = fields.String(
        load_only=True, required=True, validate=validate.Length(min=8, max=200)
    )

    @ma.post_load
    def normalise_email(self, data, **_kwargs):
        if "email" in data:
            data["email"] = data["email"].strip().lower()
        return data


class UserUpdateSchema(update_schema(UserSchema)):
    is_active = fields.Boolean()


class UserListArgs(ListArgs):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=200)
    )


class TokenSchema(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
