"""Shared fixtures. Real media comes from ``../shared/data`` (or $TALKINGHEAD_DATA) through one fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("TALKINGHEAD_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if (c / "MANIFEST.md").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real media (see its MANIFEST.md). Skips with a reason when absent; CI must have it."""
    d = _data_dir()
    if d is None:
        if os.environ.get("CI"):
            pytest.fail("real media not found: expected ../shared/data beside the checkout or $TALKINGHEAD_DATA")
        pytest.skip("real media not found (../shared/data or $TALKINGHEAD_DATA); skipping real-media test")
    return d
