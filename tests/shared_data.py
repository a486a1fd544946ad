"""Where the shared data sets live (``../shared/data`` beside the repository).

A clone may sit anywhere, so the folder is looked for in order: ``CORRIDOR_SHARED_DATA``,
a ``shared/data`` folder beside any ancestor of the repository, and the workplace's
``/work/shared/data``. Tests that need it skip with the reason when it is absent — except
where ``CORRIDOR_REQUIRE_SHARED_DATA`` is set (CI sets it), where absence is a failure, so
a green run can never mean that the sanctions tests did not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    found = []
    if os.environ.get("CORRIDOR_SHARED_DATA"):
        found.append(Path(os.environ["CORRIDOR_SHARED_DATA"]))
    found += [parent / "shared" / "data" for parent in _REPO.parents]
    found.append(Path("/work/shared/data"))
    return found


def locate(*parts: str) -> Path:
    """The path inside the shared data folder, without judging; may not exist."""
    for root in _candidates():
        if root.joinpath(*parts).exists():
            return root.joinpath(*parts)
    return _candidates()[-1].joinpath(*parts)


def shared_data(*parts: str) -> Path:
    """The shared data folder (or a path inside it); skips or fails the test if absent."""
    for root in _candidates():
        path = root.joinpath(*parts)
        if path.exists():
            return path
    reason = f"shared data {'/'.join(parts) or ''} not found (looked in {_candidates()})"
    if os.environ.get("CORRIDOR_REQUIRE_SHARED_DATA"):
        pytest.fail(reason)
    pytest.skip(reason)
