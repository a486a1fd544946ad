"""The vault: sealing, revealing, rotation, key files, and no plain PAN at rest or in logs."""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from core.database import Database
from core.key_files import KeyFileError, load_or_create_key
from core.keyring import (
    FINGERPRINT_KEY_FILE,
    VAULT_KEY_FILE,
    Keyring,
    KeyringError,
    fingerprint_key,
    new_key_spec,
)
from core.settings import Settings
from core.vault import (
    VaultEntry,
    VaultError,
    last4,
    mask,
    reencrypt_all,
    reveal,
    store,
    store_bank_account_number,
    store_card_number,
)

PAN = "4000003920000003"
IBAN = "DE89370400440532013000"


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


K1 = new_key_spec("k1")
K2 = new_key_spec("k2")


def test_keyring_parse_first_key_is_active() -> None:
    ring = Keyring.parse(f"{K2}, {K1}")
    assert ring.active_kid == "k2"
    assert ring.kids == {"k1", "k2"}
    assert base64.b64encode(b"x").decode() not in repr(ring)
    assert K1.split(":")[1] not in repr(ring)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "k1",
        "k1:not base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        f"{K1},{K1}",
        f"bad kid:{K1.split(':')[1]}",
    ],
)
def test_keyring_refuses_bad_specs(spec: str) -> None:
    with pytest.raises(KeyringError):
        Keyring.parse(spec)


def test_store_and_reveal_round_trip(db: Database) -> None:
    ring = Keyring.parse(K1)
    with db.transaction() as session:
        card = store_card_number(session, ring, PAN)
        bank = store_bank_account_number(session, ring, "de89 3704 0044 0532 0130 00")
    assert card.startswith("tok_") and bank.startswith("tok_") and card != bank
    with db.transaction(write=False) as session:
        assert reveal(session, ring, card, kind="card_number") == PAN
        assert reveal(session, ring, bank) == IBAN
        with pytest.raises(VaultError, match="not a card_number"):
            reveal(session, ring, bank, kind="card_number")
        with pytest.raises(VaultError, match="no vault entry"):
            reveal(session, ring, "tok_missing")
        with pytest.raises(VaultError):
            reveal(session, Keyring.parse(K2), card)  # the key is not in this keyring


def test_refuses_unvalidated_or_empty_secrets(db: Database) -> None:
    ring = Keyring.parse(K1)
    with db.transaction() as session:
        with pytest.raises(ValueError):
            store_card_number(session, ring, "4242 4242 4242 4242")
        with pytest.raises(ValueError):
            store(session, ring, "card_number", "")
        with pytest.raises(ValueError):
            store(session, ring, "cvc", "123")  # type: ignore[arg-type]


def test_tampered_or_moved_ciphertext_does_not_open(db: Database) -> None:
    ring = Keyring.parse(K1)
    with db.transaction() as session:
        a = store_card_number(session, ring, PAN)
        b = store_card_number(session, ring, "4242424242424242")
    with db.transaction() as session:
        entry_a, entry_b = session.get(VaultEntry, a), session.get(VaultEntry, b)
        assert entry_a is not None and entry_b is not None
        # Copy b's sealed bytes onto a's row: the token binding must refuse it.
        entry_a.nonce, entry_a.ciphertext = entry_b.nonce, entry_b.ciphertext
    with db.transaction(write=False) as session, pytest.raises(VaultError):
        reveal(session, ring, a)
    with db.transaction() as session:
        entry = session.get(VaultEntry, b)
        assert entry is not None
        entry.ciphertext = bytes([entry.ciphertext[0] ^ 1]) + entry.ciphertext[1:]
    with db.transaction(write=False) as session, pytest.raises(VaultError):
        reveal(session, ring, b)


def test_rotation_reencrypts_then_old_key_can_go(db: Database) -> None:
    old = Keyring.parse(K1)
    with db.transaction() as session:
        tokens = [store_card_number(session, old, PAN) for _ in range(3)]
        tokens.append(store_bank_account_number(session, old, IBAN))

    rotating = Keyring.parse(f"{K2},{K1}")
    with db.transaction() as session:
        first = reencrypt_all(session, rotating, batch_size=2)
    assert (first.examined, first.reencrypted, first.already_current) == (4, 4, 0)
    with db.transaction() as session:
        again = reencrypt_all(session, rotating)
    assert (again.examined, again.reencrypted, again.already_current) == (4, 0, 4)

    new_only = Keyring.parse(K2)
    with db.transaction(write=False) as session:
        assert {e.kid for e in session.query(VaultEntry)} == {"k2"}
        assert [reveal(session, new_only, t) for t in tokens] == [PAN, PAN, PAN, IBAN]


def test_rotation_refuses_when_a_needed_key_was_dropped(db: Database) -> None:
    with db.transaction() as session:
        token = store_card_number(session, Keyring.parse(K1), PAN)
    with db.transaction() as session, pytest.raises(VaultError, match="k1"):
        reencrypt_all(session, Keyring.parse(K2))
    with db.transaction(write=False) as session:
        entry = session.get(VaultEntry, token)
        assert entry is not None and entry.kid == "k1"
        assert reveal(session, Keyring.parse(K1), token) == PAN


def test_new_entries_after_rotation_use_the_new_key(db: Database) -> None:
    with db.transaction() as session:
        token = store_card_number(session, Keyring.parse(f"{K2},{K1}"), PAN)
        entry = session.get(VaultEntry, token)
        assert entry is not None and entry.kid == "k2"


def test_pan_is_not_in_the_sqlite_file_or_the_sql_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from core.database import Base

    path = tmp_path / "vault.db"
    db = Database(f"sqlite:///{path}", echo=True)
    Base.metadata.create_all(db.engine)
    ring = Keyring.parse(K1)
    caplog.set_level(logging.DEBUG)
    with db.transaction() as session:
        token = store_card_number(session, ring, PAN)
        store_bank_account_number(session, ring, IBAN)
    with db.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.dispose()

    files = [p for p in tmp_path.iterdir() if p.name.startswith("vault.db")]
    raw = b"".join(p.read_bytes() for p in files)
    assert token.encode() in raw, "the row was written (the check would be vacuous otherwise)"
    for secret in (PAN, IBAN):
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw
    assert "INSERT INTO payments_vault_entries" in caplog.text
    assert PAN not in caplog.text and IBAN not in caplog.text


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    ring = Keyring.from_settings(settings)
    path = settings.data_dir / VAULT_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keyring.from_settings(settings).active_kid == ring.active_kid
    with_keys = Keyring.from_settings(settings_for(tmp_path, vault_keys=f"{K2},{K1}"))
    assert with_keys.active_kid == "k2"


def test_sealed_under_generated_key_opens_after_restart(tmp_path: Path, db: Database) -> None:
    settings = settings_for(tmp_path)
    with db.transaction() as session:
        token = store_card_number(session, Keyring.from_settings(settings), PAN)
    with db.transaction(write=False) as session:
        assert reveal(session, Keyring.from_settings(settings), token) == PAN


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loose.key"
    load_or_create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="other users"):
        load_or_create_key(path)


def test_fingerprint_key_is_stable_and_separate(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    key = fingerprint_key(settings)
    assert len(key) == 32 and key == fingerprint_key(settings)
    assert stat.S_IMODE((settings.data_dir / FINGERPRINT_KEY_FILE).stat().st_mode) == 0o600
    configured = base64.b64encode(b"f" * 32).decode()
    assert fingerprint_key(settings_for(tmp_path, card_fingerprint_key=configured)) == (b"f" * 32)


def test_masking_shows_last4_only() -> None:
    assert last4(PAN) == "0003"
    assert mask("4242 4242 4242 4242") == "•••• 4242"
