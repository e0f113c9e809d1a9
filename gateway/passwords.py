"""Password hashes: argon2id (argon2-cffi's RFC 9106 defaults).

Hashes made before argon2id (werkzeug's scrypt or pbkdf2) still verify, and are replaced by
an argon2id hash at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash.startswith("$argon2"):
        return check_password_hash(password_hash, password)
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return not password_hash.startswith("$argon2id$") or _hasher.check_needs_rehash(password_hash)
