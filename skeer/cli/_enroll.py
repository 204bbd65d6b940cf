"""``skeer enroll`` and ``skeer verify``: use a model (a file or
``pretrained:NAME``) without training one."""

import csv

import numpy as np
from sklearn.utils import _safe_indexing

from skeer.cli._output import (
    OutputGuard,
    atomic_write,
    check_out_file,
    emit_json,
    info,
    show,
)
from skeer.cli._parser import UsageError
from skeer.cli._shared import (
    check_model_data,
    first_samples,
    load_data,
    load_model,
)

PRETRAINED_PREFIX = "pretrained:"


def _model(spec, device):
    """The pipeline named by ``MODEL``: a file or ``pretrained:NAME``."""
    text = str(spec)
    if text.startswith(PRETRAINED_PREFIX):
        from skeer.pretrained import load_pretrained

        return load_pretrained(text[len(PRETRAINED_PREFIX) :], map_location=device)
    return load_model(spec, device)


def cmd_enroll(args):
    check_out_file(args.out, "--out")
    with OutputGuard(str(args.out)) as guard:
        pipe = _model(args.model, args.device)
        data = load_data(args)
        check_model_data(pipe, data.fixed_text, data.spec, data.data)
        rows = first_samples(data.target, args.n_enroll)
        y = np.asarray(data.target)[rows]
        verifier = pipe[-1]
        before = len(verifier.classes_)
        X = _safe_indexing(data.data, rows)
        verifier.enroll(pipe[:-1].transform(X), y, reset=args.reset)
        from skeer.persistence._io import save

        atomic_write(args.out, lambda tmp: save(pipe, tmp), guard=guard)
    n_new = len(np.unique(y))
    report = {
        "command": "enroll",
        "model": str(args.model),
        "out": str(args.out),
        "enrolled": n_new,
        "samples": len(rows),
        "subjects_before": 0 if args.reset else before,
        "subjects_after": len(verifier.classes_),
    }
    info(
        args,
        f"skeer enroll: {n_new} subjects ({len(rows)} samples) of "
        f"{data.description} into {args.out} ({len(verifier.classes_)} enrolled)",
    )
    emit_json(args, report)
    return 0


def cmd_verify(args):
    if args.out is not None:
        check_out_file(args.out, "--out")
    with OutputGuard(None if args.out is None else str(args.out)) as guard:
        pipe = _model(args.model, args.device)
        data = load_data(args)
        check_model_data(pipe, data.fixed_text, data.spec, data.data)
        verifier = pipe[-1]
        if not len(verifier.classes_):
            raise UsageError(
                f"{args.model} has nobody enrolled: run skeer enroll first"
            )
        y = np.asarray(data.target)
        claimed = (
            y if args.claim is None else _claim(args.claim, verifier.classes_, len(y))
        )
        features = pipe[:-1].transform(data.data)
        scores = verifier.claim_scores(features, claimed)
        accepted = scores >= verifier.threshold_
        if args.out is not None:
            atomic_write(
                args.out,
                lambda tmp: _write_csv(tmp, y, claimed, scores, accepted),
                guard=guard,
            )
    genuine = claimed == y
    report = {
        "command": "verify",
        "model": str(args.model),
        "claims": len(y),
        "accepted": int(accepted.sum()),
        "genuine_claims": int(genuine.sum()),
        "genuine_accepted": int((accepted & genuine).sum()),
        "impostor_claims": int((~genuine).sum()),
        "impostor_accepted": int((accepted & ~genuine).sum()),
        "threshold": float(verifier.threshold_),
    }
    show(
        args,
        f"{len(y)} claims: {report['accepted']} accepted "
        f"({report['genuine_accepted']} of {report['genuine_claims']} of their own "
        f"subject, {report['impostor_accepted']} of {report['impostor_claims']} "
        "of another)" + ("" if args.out is None else f"; wrote {args.out}"),
    )
    emit_json(args, report)
    return 0


def _claim(text, classes, n):
    """``--claim`` as an enrolled id of the model's kind."""
    value = text
    if classes.dtype.kind in "iu":
        try:
            value = int(text)
        except ValueError:
            raise UsageError(
                f"--claim {text!r}: the model's ids are integers"
            ) from None
    if value not in set(classes.tolist()):
        raise UsageError(f"--claim {text!r} is not enrolled in the model")
    return np.full(n, value, dtype=classes.dtype)


def _write_csv(path, y, claimed, scores, accepted):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["sample", "subject", "claimed", "score", "accepted"])
        for i, row in enumerate(zip(y.tolist(), claimed.tolist(), scores, accepted)):
            writer.writerow([i, row[0], row[1], f"{float(row[2]):.6g}", int(row[3])])
