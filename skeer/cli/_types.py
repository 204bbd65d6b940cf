"""The ``skeer`` command's option types: parse a string or say what was expected."""

import argparse
import math
from pathlib import Path

from skeer.datasets._spec import _parse_spec
from skeer.registry import LOSSES


def data_spec(text):
    """The normalised dataset spec (``"synthetic"`` or ``"kind:PATH"``)."""
    try:
        kind, path = _parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return kind if path is None else f"{kind}:{path}"


def data_kind(spec):
    """``"synthetic"``, ``"aalto"``, ``"kvc"``, ``"cmu"`` or ``"greyc"``."""
    return _parse_spec(spec)[0]


def _operating_point(text):
    if text.strip().lower() == "eer":
        return "eer"
    try:
        value = float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"invalid operating point {text!r}; expected 'eer' or a target "
            "false-match rate in (0, 1) such as 0.01 or 1%"
        )
    return value


def _device(text):
    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; expected cpu, cuda, cuda:N or mps"
        ) from None
    return text


def _number(text, cast, ok, expected):
    try:
        value = cast(text)
    except ValueError:
        value = math.nan
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text):
    return _number(text, int, lambda v: v == v and v >= 1, "a positive integer")


def _epochs(text):
    if text.strip().lower() == "auto":
        return "auto"
    return _number(
        text, int, lambda v: v == v and v >= 1, "a positive integer or 'auto'"
    )


def _non_negative_int(text):
    return _number(text, int, lambda v: v == v and v >= 0, "an integer >= 0")


def _positive_float(text):
    return _number(text, float, lambda v: 0 < v < math.inf, "a finite positive number")


def _non_negative_float(text):
    return _number(text, float, lambda v: 0 <= v < math.inf, "a finite number >= 0")


def _n_jobs(text):
    return _number(text, int, lambda v: v >= 1 or v == -1, "a positive integer or -1")


def _share(text):
    """A share of subjects held out: a number in [0, 1)."""
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _path(text):
    """A path option's value; '' (which Path would read as '.') is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got ''")
    return Path(text).expanduser()


def _loss_list(text):
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown loss {', '.join(unknown) or text!r}; choose from "
            f"{', '.join(LOSSES)}"
        )
    return list(dict.fromkeys(names))


def _operating_point_list(text):
    return list(dict.fromkeys(_operating_point(t) for t in text.split(",") if t))


SCENARIOS = ("desktop", "mobile")


def _scenario_model(text):
    """``(scenario or None, path)`` of a kvc-predict MODEL argument."""
    scenario, sep, path = text.partition("=")
    if sep and scenario in SCENARIOS:
        return scenario, _path(path)
    return None, _path(text)
