"""Shared fixtures. Tests run on CPU, deterministically, and never download."""

import contextlib
import os
import threading
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


def _refused_at_once(call, *fifos, seconds=5):
    """The message of the ValueError ``call()`` raises; fails if it blocks.

    A blocked call is released (its FIFOs opened for writing and closed, so
    that its reads end) before the test fails.
    """
    out = []

    def run():
        try:
            call()
            out.append(None)
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    for _ in range(100 if thread.is_alive() else 0):
        for fifo in fifos:
            with contextlib.suppress(OSError):  # no reader: nothing to release
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(0.05)
    if not out:
        pytest.fail(f"the call blocked for more than {seconds} s")
    assert isinstance(out[0], ValueError), repr(out[0])
    return str(out[0])


@pytest.fixture
def refused_at_once():
    """Run a call that must refuse a FIFO at once (see ``_refused_at_once``)."""
    return _refused_at_once
