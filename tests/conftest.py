"""Shared fixtures. Real Pushshift samples live in ../shared/data/real beside the checkout
(or wherever RDIAL_REAL_DATA points); tests that need them skip when they are absent."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("RDIAL_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture
def real_data() -> Path:
    """Path to the real data folder; skips the test when it is not there."""
    if not REAL.is_dir():
        pytest.skip(f"real Pushshift samples not found at {REAL}")
    return REAL
