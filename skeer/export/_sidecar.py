"""Read and check the sidecar of :func:`skeer.export.export_onnx` (numpy and stdlib
only: a service copies it; tests/test_export.py checks the rules it repeats)."""

import json
import math
import os
import stat
from pathlib import Path

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSIONS", "read_sidecar", "sidecar_path"]

FORMAT = "skeer.onnx-sidecar"
#: 2: templates include the standardised verifier input; 3: "geometry" (was "template").
FORMAT_VERSIONS = (1, 2, 3)
#: Largest sidecar read (10,000 subjects of 128 dimensions are 20 MB of JSON).
MAX_SIDECAR_BYTES = 256 * 2**20

#: The dtypes a sidecar may name: every size comes from the values themselves.
_FLOAT_DTYPES = ("<f4", "<f8")
_ID_DTYPES = ("|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8")
_ID_DTYPES += _FLOAT_DTYPES
# skeer.templates.GEOMETRIES, repeated: this reader needs no other skeer module
_GEOMETRIES = ("cosine", "scaled_manhattan", "manhattan", "euclidean")
# skeer.features.KeystrokeFeatures, which _onnx_verifier repeats in numpy
_FEATURES_CLASS = "skeer.features.KeystrokeFeatures"
_MAX_LEN = 100_000  # skeer.features.MAX_LEN_LOADED
_MISSING = object()


def sidecar_path(path):
    """The sidecar file of the ONNX model ``path``: ``<path>.json``."""
    return Path(str(path) + ".json")


def _load(sidecar):
    """The sidecar's JSON, if it is one this reader knows; else ValueError."""
    shown = repr(str(sidecar))
    info = os.stat(sidecar)  # FileNotFoundError as is
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{shown} is not a regular file (a folder, FIFO or device).")
    if info.st_size > MAX_SIDECAR_BYTES:
        raise ValueError(
            f"{shown} holds {info.st_size:,} bytes, more than a sidecar may "
            f"({MAX_SIDECAR_BYTES:,})."
        )
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # not JSON, absurdly nested
        raise ValueError(
            f"{shown} is not a skeer ONNX sidecar: not readable JSON "
            f"({type(exc).__name__})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{shown} is not a skeer ONNX sidecar.")
    version = meta.get("format_version")
    if type(version) is not int or version not in FORMAT_VERSIONS:  # not True, 1.0
        raise ValueError(
            f"{shown} has format_version {meta.get('format_version')!r}; "
            f"this reader knows {', '.join(map(str, FORMAT_VERSIONS))}."
        )
    return meta


def _get(meta, key, where):
    value = meta.get(key, _MISSING)
    if value is _MISSING:
        raise ValueError(f"{where}: {key} is missing.")
    return value


def _is_number(value):
    """A JSON number (a bool is not one)."""
    return type(value) in (int, float)


def _operating_point(meta, where):
    """``"eer"`` or a rate in (0, 1), as ``check_operating_point`` allows."""
    op = _get(meta, "operating_point", where)
    if op == "eer" or (_is_number(op) and 0 < op < 1):  # False for NaN
        return op
    raise ValueError(
        f"{where}: operating_point {op!r} is not 'eer' nor a target false-match "
        "rate in (0, 1)."
    )


def _threshold(meta, operating_point, where):
    """A finite number, or ``"-inf"`` at a target rate only (as in model files)."""
    threshold = _get(meta, "threshold", where)
    if threshold == "-inf":
        if operating_point == "eer":
            raise ValueError(
                f"{where}: threshold -inf (accept every claim) but "
                "operating_point 'eer' never gives it (only a target "
                "false-match rate can)."
            )
        return -math.inf
    try:
        value = float(threshold) if _is_number(threshold) else math.nan
    except OverflowError:  # an int beyond float64
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(
            f"{where}: threshold {threshold!r} is not a finite number (nor '-inf')."
        )
    return value


def _preprocessing(meta, where):
    """The steps, and ``(max_len, clip)`` if the service step is KeystrokeFeatures."""
    pre = _get(meta, "preprocessing", where)

    def is_step(step):
        return (
            isinstance(step, dict)
            and isinstance(step.get("name"), str)
            and isinstance(step.get("class"), str)
            and isinstance(step.get("params"), dict)
        )

    if not (
        isinstance(pre, dict)
        and all(
            isinstance(pre.get(key), list) and all(map(is_step, pre[key]))
            for key in ("service", "in_graph")
        )
    ):
        raise ValueError(
            f"{where}: preprocessing is not {{'service': [...], 'in_graph': "
            "[...]} of steps {'name', 'class', 'params'}."
        )
    service = pre["service"]
    if len(service) != 1 or service[0]["class"] != _FEATURES_CLASS:
        return pre, None
    params = service[0]["params"]
    # a missing clip is not "no clipping": the pipeline's clip was lost
    max_len, clip = params.get("max_len"), params.get("clip", _MISSING)
    if clip is _MISSING:
        raise ValueError(f"{where}: KeystrokeFeatures' clip is missing.")
    if type(max_len) is not int or not 1 <= max_len <= _MAX_LEN:
        raise ValueError(f"{where}: KeystrokeFeatures max_len {max_len!r} is invalid.")
    if clip is not None and not (_is_number(clip) and 0 < clip < math.inf):
        raise ValueError(f"{where}: KeystrokeFeatures clip {clip!r} is invalid.")
    return pre, (max_len, clip)


def _spec(meta, key, where, ndims):
    """``(name, sizes)`` of a tensor spec ``{"name", "shape": ["batch", ...]}``."""
    spec = _get(meta, key, where)
    shape = spec.get("shape") if isinstance(spec, dict) else None
    if not (
        isinstance(spec, dict)
        and isinstance(spec.get("name"), str)
        and isinstance(shape, list)
        and len(shape) in ndims
        and shape[0] == "batch"
        and all(type(n) is int and n >= 1 for n in shape[1:])
    ):
        raise ValueError(
            f"{where}: {key} is not {{'name': str, 'shape': ['batch', sizes]}} "
            f"of {' or '.join(map(str, ndims))} axes, every size positive."
        )
    return spec["name"], shape[1:]


def _numbers(meta, key, shape, dtype, where):
    """``meta[key]``: finite numbers of ``shape`` (1-D or 2-D), as ``dtype``."""
    values = meta.get(key)
    rows = values if len(shape) == 2 else [values]
    if not (
        isinstance(values, list)
        and len(rows) == (shape[0] if len(shape) == 2 else 1)
        and all(
            isinstance(row, list)
            and len(row) == shape[-1]
            and all(map(_is_number, row))
            for row in rows
        )
    ):
        sizes = " rows of ".join(map(str, shape))
        raise ValueError(f"{where}: {key} are not {sizes} numbers.")
    try:
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=dtype).reshape(shape)
    except OverflowError:  # an int beyond float64
        array = np.full(shape, np.inf)
    if not np.isfinite(array).all():
        raise ValueError(
            f"{where}: {key} hold NaN or infinity (or values beyond "
            f"{np.dtype(dtype).name})."
        )
    return array


def _classes(meta, where):
    """The enrolled ids, exact, sorted and unique (no dtype width from the file)."""
    values, dtype = _get(meta, "classes", where), meta.get("classes_dtype")
    if not isinstance(values, list):
        raise ValueError(f"{where}: classes is not a list.")
    if isinstance(dtype, str) and dtype[1:2] == "U":
        if not all(isinstance(v, str) for v in values):
            raise ValueError(
                f"{where}: classes_dtype {dtype!r} but not every id is a str."
            )
        out = np.asarray(values, dtype=str)
    elif dtype not in _ID_DTYPES:
        raise ValueError(f"{where}: classes_dtype {dtype!r} is not an id dtype.")
    else:
        kind = np.dtype(dtype).kind
        want = {"b": (bool,), "f": (int, float)}.get(kind, (int,))
        if not all(type(v) in want for v in values):
            raise ValueError(
                f"{where}: classes are not all {want[0].__name__}s ({dtype})."
            )
        if kind in "iu" and values:
            info = np.iinfo(np.dtype(dtype))
            if not info.min <= min(values) <= max(values) <= info.max:
                raise ValueError(f"{where}: classes do not fit {dtype}.")
        try:
            out = np.asarray(values, dtype=np.dtype(dtype))
        except OverflowError:  # an int beyond float64
            out = None
        if kind == "f" and not (
            out is not None and np.isfinite(out).all() and out.tolist() == values
        ):
            raise ValueError(f"{where}: classes are not exactly {dtype} values.")
    # claims are looked up by binary search (as in skeer.persistence)
    if len(out) > 1 and not bool(np.all(out[1:] > out[:-1])):
        raise ValueError(f"{where}: classes are not sorted and unique.")
    return out


def _standardisation(meta, where):
    """``(name, mean, scale)`` of the standardised verifier input, or Nones."""
    keys = ("verifier_input", "input_mean", "input_scale")
    if all(meta.get(key) is None for key in keys):
        return None, None, None
    n = None
    try:
        name, (n,) = _spec(meta, "verifier_input", where, (2,))
        mean = _numbers(meta, "input_mean", (n,), np.float32, where)
        scale = _numbers(meta, "input_scale", (n,), np.float32, where)
        if not (scale > 0).all():
            raise ValueError
    except ValueError:
        size = f"({n})" if n else "(verifier_input names none)"
        raise ValueError(
            f"{where}: input_mean and input_scale do not hold one finite value "
            f"per verifier input {size}; scales positive."
        ) from None
    return name, mean, scale


def read_sidecar(sidecar):
    """The sidecar's fields, checked (a ValueError names file and field);
    ``feature_step`` is ``(max_len, clip)`` or None, ``outputs`` ``{name: width}``."""
    meta = _load(sidecar)
    where = repr(str(sidecar))
    key = "geometry" if meta["format_version"] >= 3 else "template"
    geometry = _get(meta, key, where)
    if not (isinstance(geometry, str) and geometry in _GEOMETRIES):
        raise ValueError(f"{where}: {key} {geometry!r} is not one of {_GEOMETRIES}.")
    operating_point = _operating_point(meta, where)
    threshold = _threshold(meta, operating_point, where)
    preprocessing, feature_step = _preprocessing(meta, where)
    input_name, _ = _spec(meta, "input", where, (2, 3))
    output, (d,) = _spec(meta, "output", where, (2,))
    outputs = {output: d}
    name, mean, scale = _standardisation(meta, where)
    if name is not None:
        if name == output:
            raise ValueError(f"{where}: verifier_input is named as output ({name!r}).")
        outputs[name] = len(mean)
    if meta.get("templates_dtype") not in _FLOAT_DTYPES:
        raise ValueError(f"{where}: templates_dtype is not float32 or float64.")
    dtype = np.dtype(meta["templates_dtype"])
    classes = _classes(meta, where)
    shape = (len(classes), sum(outputs.values()))
    templates = _numbers(meta, "templates", shape, dtype, where)
    if geometry == "cosine" and len(templates):  # as skeer.load checks
        norms = np.linalg.norm(templates.astype(np.float64), axis=1)
        if not bool(np.all((np.abs(norms - 1) <= 1e-3) | (norms == 0))):
            raise ValueError(
                f"{where}: templates are not unit vectors (the cosine geometry's are)."
            )
    scales = meta.get("template_scales")
    if (scales is None) != (geometry != "scaled_manhattan"):
        raise ValueError(
            f"{where}: template_scales do not fit the {geometry!r} geometry (only "
            "'scaled_manhattan' has them)."
        )
    if scales is not None:
        scales = _numbers(meta, "template_scales", shape, dtype, where)
        if not (scales > 0).all():
            raise ValueError(f"{where}: template_scales are not all positive.")
    return {
        "geometry": geometry,
        "operating_point": operating_point,
        "threshold": threshold,
        "preprocessing": preprocessing,
        "feature_step": feature_step,
        "input": input_name,
        "outputs": outputs,
        "classes": classes,
        "templates": templates,
        "template_scales": scales,
        "input_mean": mean,
        "input_scale": scale,
    }
