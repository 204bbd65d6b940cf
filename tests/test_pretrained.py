"""The shipped pretrained model: loads offline, nobody enrolled, enrols and
verifies raw sessions, and has its card."""

import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.datasets import make_keystrokes
from skeer.pretrained import PRETRAINED, load_pretrained, model_card


@pytest.mark.parametrize("name", PRETRAINED)
def test_shipped_file_is_small_and_loads_with_nobody_enrolled(name):
    path = resources.files("skeer.pretrained") / f"{name}.skeer"
    assert path.is_file() and path.stat().st_size < 5e6  # a few MB at most
    model = load_pretrained(name)
    assert isinstance(model, Pipeline)
    assert isinstance(model[0], KeystrokeFeatures)
    assert isinstance(model[-1], KeystrokeVerifier)
    assert model[-1].classes_.size == 0 and np.isfinite(model[-1].threshold_)


def test_enrols_and_verifies_raw_sessions_in_a_fresh_process(tmp_path):
    """A new interpreter, no network, no data folder: enrol, verify, save."""
    code = f"""
import numpy as np, skeer
from skeer.datasets import make_keystrokes
from skeer.pretrained import load_pretrained
model = load_pretrained()
X, y = make_keystrokes(n_subjects=4, n_sessions=8, random_state=1)
enrol = np.arange(len(y)) % 8 < 5
features = model[:-1]
model[-1].enroll(features.transform([x for x, e in zip(X, enrol) if e]), y[enrol])
probes = [x for x, e in zip(X, enrol) if not e]
scores = model.decision_function(probes)
own = scores[np.arange(len(probes)), y[~enrol]]
assert scores.shape == (12, 4) and np.isfinite(scores).all()
assert model[-1].verify(features.transform(probes), y[~enrol]).dtype == bool
skeer.save(model, {str(tmp_path / "mine.skeer")!r})
print("ok", float(own.mean() - scores.mean()))
"""
    env = {"PATH": "", "SKEER_DATA": str(tmp_path / "no-data"), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


def test_model_card_states_data_recipe_and_held_out_figures():
    card = model_card("aalto-typenet")
    assert card.startswith("# Model card: aalto-typenet")
    for needle in (
        "## Data and terms",
        "non-commercial research",
        "python benchmarks/make_pretrained.py",
        "## Figures on people it never saw",
        "7.29 ± 0.20 %",
        "## What it is and is not for",
        "## Known limits",
    ):
        assert needle in card, needle
    model = load_pretrained()
    assert f"{model[-1].threshold_:.4f}" in card  # the card is of this file


def test_unknown_names_are_refused():
    for bad in ("nope", None, 3):
        with pytest.raises(ValueError, match="Unknown pretrained model"):
            load_pretrained(bad)
        with pytest.raises(ValueError, match="Unknown pretrained model"):
            model_card(bad)


def test_enroll_and_verify_from_the_command_line(tmp_path):
    from skeer.cli import main

    enrolled = tmp_path / "enrolled.skeer"
    data = ["--data", "synthetic", "--subjects", "3", "--sessions", "8"]
    assert (
        main(["enroll", "pretrained:aalto-typenet", *data, "--n-enroll", "5",
              "--out", str(enrolled), "-q"])
        == 0
    )  # fmt: skip
    assert main(["verify", str(enrolled), *data, "-q"]) == 0
    _, y = make_keystrokes(n_subjects=3, n_sessions=8, random_state=0)
    assert len(np.unique(y)) == 3
