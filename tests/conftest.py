"""Shared fixtures. Tests run on CPU, deterministically, and never download."""

from pathlib import Path

import numpy as np
import pytest
import torch

# One intra-op thread: the tests' networks are tiny, and on a shared 2-core
# machine two threads oversubscribe the cores and slow training by 10x or more.
torch.set_num_threads(1)

#: ``../shared/data`` beside the repository (development data; absent on users'
#: machines, where the tests that need it skip).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AALTO_DEV = SHARED_DATA / "aalto136m-dev-1565users.tar.gz"


@pytest.fixture
def aalto_dev_path():
    if not AALTO_DEV.exists():
        pytest.skip(f"development data not found at {AALTO_DEV}")
    return AALTO_DEV


@pytest.fixture
def fixed_text_data():
    """Small separable fixed-text problem: 8 identities x 12 vectors of 6 dims."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 6))
    y = np.repeat(np.arange(8), 12)
    X = (centers[y] + 0.25 * rng.normal(size=(len(y), 6))).astype(np.float32)
    return X, y
