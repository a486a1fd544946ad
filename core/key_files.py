"""Secret key files generated once in the data directory (the embedded default).

When a deployment configures no key, the embedded default still must not run with a
hard-coded one: the first process creates a random key in ``Settings.data_dir`` with
mode 0600 (``O_EXCL``, so two processes starting together agree on one file) and
every later start reads it back. Production sets its keys explicitly instead, since
several machines must share them.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file that is unreadable, malformed or readable by other users."""


def load_or_create_text(path: Path, create: str) -> str:
    """Return the file's content, writing ``create`` (mode 0600) first if it does not exist."""
    try:
        return _read_private(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Write a private temporary file completely, then publish it with link(), which
    # fails if the name exists: a concurrent starter either wins or reads the winner's
    # complete file, never a half-written one.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, create.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read_private(path)
    finally:
        tmp.unlink(missing_ok=True)
    return create


def load_or_create_key(path: Path, nbytes: int = 32) -> bytes:
    """A random ``nbytes`` key stored base64-encoded in ``path``."""
    text = load_or_create_text(path, base64.b64encode(secrets.token_bytes(nbytes)).decode() + "\n")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise KeyFileError(f"{path} does not hold a base64 key") from exc
    if len(key) != nbytes:
        raise KeyFileError(f"{path} holds a {len(key)}-byte key, expected {nbytes}")
    return key


_read: dict[Path, tuple[tuple[int, int, int, int], str]] = {}
"""Each key file's content by path, with the stat fields it was read under: requests
that seal or fingerprint would otherwise read and check the same file every time."""


def _read_private(path: Path) -> str:
    status = path.stat()
    mode = status.st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible to other users (mode {oct(mode & 0o777)})")
    version = (status.st_ino, status.st_mtime_ns, status.st_size, mode)
    known = _read.get(path)
    if known is not None and known[0] == version:
        return known[1]
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        # A crash between create and write leaves an empty file; refuse rather than guess.
        raise KeyFileError(f"{path} is empty")
    _read[path] = (version, text)
    return text
