"""API keys: generated once, shown once, stored only as a hash.

A key is ``tgk_`` + 32 random bytes (base64url). The configuration holds ``sha256:<hex>`` of
it: a key is high-entropy, so a fast hash is enough to make the stored value useless to a
reader of the file (a slow hash protects guessable passwords, which these are not).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "tgk_"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def check_hash(value: str) -> str:
    """A configured key hash, normalised; ``ValueError`` if it is not ``sha256:<64 hex>``."""
    scheme, _, digest = value.partition(":")
    if scheme != "sha256" or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError("a key hash is 'sha256:' and 64 lowercase hex digits")
    return value


def matches(key: str, stored: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored)
