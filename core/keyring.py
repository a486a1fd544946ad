"""The vault's keyring (AES-256-GCM keys by key id) and the card fingerprint key.

``CORRIDOR_VAULT_KEYS`` holds ``kid:base64key,kid2:base64key``: the first key encrypts,
every listed key decrypts. Rotation is therefore: put the new key first and restart
every process, run the re-encryption (:func:`core.vault.reencrypt_all`; run it again
if an old process may still have written), then drop the old key. Nonces are 96 random
bits, so rotate well before 2^32 encryptions under one key. When no
keys are configured (the embedded default) one key is generated once in
``Settings.data_dir/vault.key``.

Sealing binds each ciphertext to its token, kind and key id through AES-GCM's
associated data, so a ciphertext copied onto another row, or relabelled with another
key id, fails to open instead of revealing the wrong secret.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.key_files import load_or_create_key, load_or_create_text
from core.settings import Settings

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
VAULT_KEY_FILE: Final = "vault.key"
FINGERPRINT_KEY_FILE: Final = "card_fingerprint.key"


class KeyringError(ValueError):
    """A malformed key specification or a key id the keyring does not hold."""


class SealError(ValueError):
    """A ciphertext that does not open: wrong key, tampered bytes or mismatched binding."""


@dataclass(frozen=True)
class Sealed:
    kid: str
    nonce: bytes
    ciphertext: bytes


class Keyring:
    """Named AES-256 keys; ``active_kid`` encrypts, all decrypt."""

    def __init__(self, keys: Mapping[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise KeyringError(f"active key id {active_kid!r} is not in the keyring")
        for kid, key in keys.items():
            if not _KID.match(kid):
                raise KeyringError(f"key id {kid!r} must be 1-32 of [A-Za-z0-9_.-]")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {kid!r} is {len(key)} bytes, AES-256 needs {KEY_BYTES}")
        self._keys = dict(keys)
        self.active_kid = active_kid

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(active={self.active_kid!r}, kids={sorted(self._keys)!r})"

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """``"k2:BASE64,k1:BASE64"`` -> keyring with ``k2`` active."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            kid, sep, encoded = item.partition(":")
            kid = kid.strip()
            if not sep:
                raise KeyringError("each vault key must be written kid:base64key")
            if kid in keys:
                raise KeyringError(f"key id {kid!r} is listed twice")
            try:
                keys[kid] = base64.b64decode(encoded.strip(), validate=True)
            except ValueError as exc:
                raise KeyringError(f"key {kid!r} is not valid base64") from exc
            order.append(kid)
        if not order:
            raise KeyringError("no vault keys given")
        return cls(keys, order[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        """Configured keys, or the embedded default's generated key file."""
        if settings.vault_keys:
            return _parsed(settings.vault_keys)
        return _parsed(load_or_create_text(settings.data_dir / VAULT_KEY_FILE, new_key_spec()))

    def seal(self, plaintext: bytes, binding: bytes) -> Sealed:
        nonce = secrets.token_bytes(NONCE_BYTES)
        kid = self.active_kid
        ciphertext = AESGCM(self._keys[kid]).encrypt(nonce, plaintext, _aad(binding, kid))
        return Sealed(kid=kid, nonce=nonce, ciphertext=ciphertext)

    def open(self, sealed: Sealed, binding: bytes) -> bytes:
        key = self._keys.get(sealed.kid)
        if key is None:
            raise KeyringError(f"vault key {sealed.kid!r} is not configured")
        try:
            return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, _aad(binding, sealed.kid))
        except InvalidTag as exc:
            raise SealError("ciphertext failed authentication") from exc


@functools.lru_cache(maxsize=8)
def _parsed(spec: str) -> Keyring:
    """One keyring per spec: every seal and reveal asks for the keyring, and it never
    changes (a rotated key file or setting is a new spec, so a new keyring)."""
    return Keyring.parse(spec)


def _aad(binding: bytes, kid: str) -> bytes:
    return b"corridor.vault.v1|" + binding + b"|" + kid.encode("ascii")


def new_key_spec(kid: str = "k1") -> str:
    """A fresh ``kid:base64key`` item for ``CORRIDOR_VAULT_KEYS``."""
    if not _KID.match(kid):
        raise KeyringError(f"key id {kid!r} must be 1-32 of [A-Za-z0-9_.-]")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def fingerprint_key(settings: Settings) -> bytes:
    """The platform's card fingerprint key.

    Kept apart from the vault keys on purpose: vault keys rotate, fingerprints must
    not change. ``settings.card_fingerprint_key`` (base64) when configured,
    else a key generated once in the data directory.
    """
    configured = settings.card_fingerprint_key
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise KeyringError("card_fingerprint_key is not valid base64") from exc
        if len(key) < 16:
            raise KeyringError("card_fingerprint_key must be at least 16 bytes")
        return key
    return load_or_create_key(Path(settings.data_dir) / FINGERPRINT_KEY_FILE)
