"""The corridor command, run as a user runs it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import select

from api.keys import ApiKey
from core.database import Database


def _corridor(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(tmp_path)}
    env.pop("CORRIDOR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_keys_create_prints_the_key_alone(tmp_path):
    account = _corridor(
        tmp_path, "accounts", "--name", "CLI KK", "--country", "JP", "--currency", "JPY"
    )
    assert account.returncode == 0, account.stderr
    account_id = account.stdout.strip()
    assert account_id.startswith("acct_")
    made = _corridor(tmp_path, "keys", "create", "--role", "merchant", "--account", account_id)
    assert made.returncode == 0, made.stderr
    secret = made.stdout
    assert secret.endswith("\n") and secret.count("\n") == 1
    secret = secret.strip()
    assert secret.startswith("sk_test_") and len(secret) >= 40
    db = Database(f"sqlite:///{tmp_path / 'corridor.db'}")
    with db.transaction(write=False) as session:
        key = session.scalar(
            select(ApiKey).where(ApiKey.secret_hash == hashlib.sha256(secret.encode()).hexdigest())
        )
        assert key is not None and key.role == "merchant" and key.account_id == account_id
    db.dispose()
    refused = _corridor(tmp_path, "keys", "create", "--role", "merchant")
    assert refused.returncode == 2 and refused.stdout == ""
