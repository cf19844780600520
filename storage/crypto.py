"""Encryption of the Atlas secrets stored in the database (Fernet, key from ATLAS_ACCESS_SECRET_KEY).

Neither the key nor a plaintext ever appears in an exception message or a repr: errors say what is
wrong with the key (missing, malformed, not the one the data was written with) and nothing else.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from access.errors import SecretKeyError

KEY_VARIABLE = "ATLAS_ACCESS_SECRET_KEY"
__all__ = ["KEY_VARIABLE", "SecretBox", "SecretKeyError"]  # SecretKeyError is the domain's; importable here as before


class SecretBox:
    """Fernet encryption with one key; `SecretBox(None)` can store nothing secret but says so clearly."""

    def __init__(self, key: str | None) -> None:
        self._fernet = _fernet(key) if key else None

    def __repr__(self) -> str:
        return f"SecretBox(key={'<set>' if self._fernet else None})"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def encrypt(self, plaintext: str) -> str:
        return self._require().encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._require().decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(
                f"{KEY_VARIABLE} cannot decrypt the Atlas credentials stored in the database: "
                "it is not the key they were stored with"
            ) from None

    def _require(self) -> Fernet:
        if self._fernet is None:
            raise SecretKeyError(
                f"{KEY_VARIABLE} is not set: it is needed to store or read literal Atlas credentials "
                "(generate one with `atlas-access keygen`)"
            )
        return self._fernet


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, UnicodeError, TypeError):
        # Fernet's own message is harmless, but a traceback chain could carry the key: drop it.
        raise SecretKeyError(
            f"{KEY_VARIABLE} is not a valid key (32 url-safe base64-encoded bytes; "
            "generate one with `atlas-access keygen`)"
        ) from None
