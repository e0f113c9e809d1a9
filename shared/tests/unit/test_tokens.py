"""Tokens: only the gateway's keys sign, forged and downgraded tokens fail, scopes and denials."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.clients import Clients
from gateway.tokens import SigningKeys, service_token, user_token
from shared.auth import (
    ROLES,
    Identity,
    VerifiedTokens,
    bearer_token,
    require_role,
    require_scope,
    require_user,
    verified_tokens,
    verify_token,
)
from shared.config import DEV_JWT_PUBLIC_KEY, ConfigError
from shared.errors import Forbidden, Unauthorized, UpstreamUnavailable
from shared.keys import RemoteKeys, StaticKeys, kid_of
from shared.revocations import DenyList, RevocationFeed, Revoked
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.tokens import DEV_KEY, claims_for, hand_made, sign

USER = Identity("u1", "sdr", "a@b.c", "A", session_id="s1")


def pem_of(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_user_token_round_trips_with_every_claim():
    keys = SigningKeys.from_env({})
    token = user_token(keys, USER, "s1", 60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert {"iss", "aud", "exp", "iat", "jti", "sub", "sid"} <= set(claims)
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    identity = verify_token(token, StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY))
    assert (identity.user_id, identity.role, identity.session_id) == ("u1", "sdr", "s1")
    assert identity.issued_at == pytest.approx(time.time(), abs=5)


def test_a_token_signed_with_any_other_key_is_refused():
    other = Ed25519PrivateKey.generate()
    token = sign(claims_for(USER, 60), key=other)
    with pytest.raises(Unauthorized):
        verify_token(token, StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY))
    # and with the trusted key's kid on it
    from shared.testing.tokens import DEV_KID

    with pytest.raises(Unauthorized):
        verify_token(
            sign(claims_for(USER, 60), key=other, kid=DEV_KID),
            StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY),
        )


def test_hs256_with_the_public_key_as_secret_and_alg_none_are_refused():
    keys = StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY)
    kid = next(iter(keys.keys))
    claims = claims_for(USER, 60)
    confused = hand_made({"alg": "HS256", "kid": kid}, claims, DEV_JWT_PUBLIC_KEY.encode())
    with pytest.raises(Unauthorized):
        verify_token(confused, keys)
    with pytest.raises(Unauthorized):
        verify_token(hand_made({"alg": "none", "kid": kid}, claims, None), keys)


def test_expired_unknown_role_and_missing_claims_are_refused():
    keys = StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY)
    with pytest.raises(Unauthorized):
        verify_token(sign(claims_for(USER, -60)), keys)
    with pytest.raises(Unauthorized):
        verify_token(sign(claims_for(Identity("u", "pirate"), 60)), keys)
    without_jti = {k: v for k, v in claims_for(USER, 60).items() if k != "jti"}
    with pytest.raises(Unauthorized):
        verify_token(sign(without_jti), keys)
    with pytest.raises(Unauthorized):
        verify_token(sign(claims_for(USER, 60, aud="someone-else")), keys)
    with pytest.raises(Unauthorized):
        bearer_token("Basic abc")


def test_during_a_rollover_both_keys_verify_and_the_new_one_signs():
    old, new = DEV_KEY, Ed25519PrivateKey.generate()
    keys = SigningKeys.from_env(
        {"JWT_PRIVATE_KEY": pem_of(new), "JWT_PREVIOUS_PUBLIC_KEYS": DEV_JWT_PUBLIC_KEY}
    )
    assert len(keys.jwks()["keys"]) == 2
    old_token = sign(claims_for(USER, 60), key=old)
    new_token = user_token(keys, USER, "s1", 60)
    assert verify_token(old_token, keys).user_id == verify_token(new_token, keys).user_id == "u1"
    retired = SigningKeys.from_env({"JWT_PRIVATE_KEY": pem_of(new)})
    with pytest.raises(Unauthorized):
        verify_token(old_token, retired)


def test_production_refuses_the_development_signing_key():
    with pytest.raises(ConfigError):
        SigningKeys.from_env({}, production=True)
    SigningKeys.from_env({"JWT_PRIVATE_KEY": pem_of(Ed25519PrivateKey.generate())}, production=True)


def test_remote_keys_fetch_the_jwks_and_again_for_a_new_kid():
    from flask import Flask, jsonify

    current = {"keys": SigningKeys.from_env({})}
    app = Flask("jwks")
    fetches = []

    @app.get("/jwks")
    def jwks():
        fetches.append(1)
        return jsonify(current["keys"].jwks())

    server = ThreadServer(app, free_port())
    try:
        remote = RemoteKeys(f"{server.url}/jwks", min_interval=0.0)
        assert verify_token(sign(claims_for(USER, 60)), remote).user_id == "u1"
        new = Ed25519PrivateKey.generate()
        current["keys"] = SigningKeys.from_env(
            {"JWT_PRIVATE_KEY": pem_of(new), "JWT_PREVIOUS_PUBLIC_KEYS": DEV_JWT_PUBLIC_KEY}
        )
        time.sleep(1.1)  # refetches are at most once a second
        token = user_token(current["keys"], USER, "s1", 60)
        assert verify_token(token, remote).user_id == "u1"
        assert len(fetches) == 2
    finally:
        server.stop()


def test_remote_keys_never_fetched_are_a_503_not_a_401():
    remote = RemoteKeys(f"http://127.0.0.1:{free_port()}/jwks")
    with pytest.raises(UpstreamUnavailable):
        verify_token(sign(claims_for(USER, 60)), remote)


def test_a_service_token_carries_its_scopes_and_is_never_an_admin_or_a_user():
    keys = SigningKeys.from_env({})
    identity = verify_token(service_token(keys, "sales", ("contacts:conversions",), 60), keys)
    assert identity.is_service and not identity.is_admin and not identity.is_manager
    assert identity.user_id == "service:sales"
    require_scope(identity, "contacts:conversions")
    with pytest.raises(Forbidden):
        require_scope(identity, "billing:read")
    with pytest.raises(Forbidden):
        require_role(identity, "sdr", "admin")
    with pytest.raises(Forbidden):
        require_user(identity)
    for role in ROLES:
        with pytest.raises(Forbidden):
            require_scope(Identity("u", role), "contacts:conversions")


def test_clients_need_their_own_secret():
    clients = Clients.from_env({"SERVICE_CLIENT_SECRET_SALES": "sales-secret"})
    assert "contacts:conversions" in clients.authenticate("sales", "sales-secret")
    for client_id, secret in [("sales", "wrong"), ("contacts", "sales-secret"), ("nobody", "x")]:
        with pytest.raises(Unauthorized):
            clients.authenticate(client_id, secret)
    with pytest.raises(ConfigError):
        Clients.from_env({}, production=True)


def test_the_deny_list_refuses_older_tokens_of_a_user_and_a_whole_session():
    denylist = DenyList()
    now = time.time()
    denylist.add(Revoked("u1", None, now, now + 60))
    assert denylist.refuses(Identity("u1", "sdr", issued_at=now - 1))
    assert not denylist.refuses(Identity("u1", "sdr", issued_at=now + 1))  # logged in again
    assert not denylist.refuses(Identity("u2", "sdr", issued_at=now - 1))
    denylist.add(Revoked("u2", "s2", now, now + 60))
    assert denylist.refuses(Identity("u2", "sdr", session_id="s2", issued_at=now + 5))
    assert not denylist.refuses(Identity("u2", "sdr", session_id="s3", issued_at=now - 5))
    denylist.prune(now + 61)
    assert not denylist.refuses(Identity("u1", "sdr", issued_at=now - 1))


def test_the_feed_asks_again_from_a_little_before_its_last_answer():
    asked = []
    now = time.time()

    def fetch(since):
        asked.append(since)
        return [Revoked("u1", None, now, now + 60)], now

    feed = RevocationFeed(fetch)
    feed.poll_once()
    feed.poll_once()
    assert asked[0] is None and asked[1] < now
    assert feed.refuses(Identity("u1", "sdr", issued_at=now - 1))
    assert not feed.refuses(Identity("service:sales", "service", issued_at=now - 1))


class CountingKeys:
    """The development public key, counting how often a token had to be checked against it."""

    def __init__(self) -> None:
        self.keys = StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY)
        self.lookups = 0

    def key_for(self, kid):
        self.lookups += 1
        return self.keys.key_for(kid)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_token_seen_again_is_not_checked_again():
    keys = CountingKeys()
    token = sign(claims_for(USER, 60))
    assert verify_token(token, keys) == verify_token(token, keys) == verify_token(token, keys)
    assert keys.lookups == 1
    verify_token(sign(claims_for(USER, 60)), keys)  # another token is checked
    assert keys.lookups == 2


def test_a_remembered_token_is_checked_again_after_the_cache_ttl():
    keys, clock = CountingKeys(), Clock()
    cache = VerifiedTokens(ttl=30, timer=clock)
    token = sign(claims_for(USER, 600))
    verify_token(token, keys, cache)
    clock.now += 29
    verify_token(token, keys, cache)
    assert keys.lookups == 1
    clock.now += 2
    verify_token(token, keys, cache)
    assert keys.lookups == 2


def test_a_token_is_remembered_no_longer_than_its_exp():
    keys, clock = CountingKeys(), Clock()
    cache = VerifiedTokens(ttl=3600, timer=clock)
    claims = claims_for(USER, 600)
    token = sign(claims)
    verify_token(token, keys, cache)
    clock.now = claims["exp"] - 1
    assert cache.get(token) is not None
    clock.now = claims["exp"]
    assert cache.get(token) is None
    verify_token(token, keys, cache)  # checked again (its exp is still ahead in real time)
    assert keys.lookups == 2


def test_a_remembered_token_is_still_refused_once_revoked():
    keys, denied = CountingKeys(), DenyList()
    token = sign(claims_for(USER, 60))
    identity = verify_token(token, keys)
    assert not denied.refuses(verify_token(token, keys))
    denied.add(Revoked("u1", "s1", time.time(), time.time() + 60))
    assert denied.refuses(verify_token(token, keys))
    assert keys.lookups == 1 and identity.session_id == "s1"


def test_each_key_set_remembers_only_what_it_verified():
    other = Ed25519PrivateKey.generate()
    trusting = StaticKeys.from_pem(public_pem(other))
    token = sign(claims_for(USER, 60), key=other, kid=kid_of(other.public_key()))
    assert verify_token(token, trusting).user_id == "u1"
    with pytest.raises(Unauthorized):  # remembered by `trusting`, not by the dev key set
        verify_token(token, StaticKeys.from_pem(DEV_JWT_PUBLIC_KEY))
    assert verified_tokens(trusting).get(token) is not None
