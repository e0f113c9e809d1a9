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
    access_token = fields.String(metadata={"description": "EdDSA-signed JWT"})
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds the access token lives"})
    refresh_token = fields.String(metadata={"description": "used once: /auth/refresh"})
    refresh_expires_in = fields.Integer()


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ClientCredentialsSchema(Schema):
    grant_type = fields.String(required=True, validate=validate.Equal("client_credentials"))
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    client_secret = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=500)
    )


class ServiceTokenSchema(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    scope = fields.String(metadata={"description": "space-separated scopes"})


class RevocationArgs(Schema):
    since = fields.Float(validate=validate.Range(min=0, max=1e11))


class RevocationSchema(ma.Schema):
    user_id = fields.String()
    session_id = fields.String(allow_none=True)
    revoked_at = fields.Float(metadata={"description": "tokens issued until then are refused"})
    expires_at = fields.Float()


class RevocationListSchema(ma.Schema):
    revocations = fields.List(fields.Nested(RevocationSchema))
    now = fields.Float()
