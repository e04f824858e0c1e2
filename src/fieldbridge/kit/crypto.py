"""Secrets at rest: password/PIN hashing, token hashing, and symmetric encryption.

- Passwords and PINs: argon2id (slow on purpose).
- Bearer tokens we mint (API keys, device tokens, session ids): SHA-256 of a high-entropy
  random value, so lookups are one indexed equality and the database never holds the token.
- Third-party credentials (OAuth tokens): Fernet, keyed from FIELDBRIDGE_SECRET_KEY via HKDF.
"""

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str, nbytes: int = 32) -> str:
    """A bearer token such as `fbk_...`; the prefix tells a reader what it is."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


class SecretBox:
    """Encrypts small secrets (OAuth tokens) for storage; ciphertexts are ASCII strings."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret, "fieldbridge.secretbox")))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "stored secret cannot be decrypted: FIELDBRIDGE_SECRET_KEY changed since it was saved"
            ) from exc
