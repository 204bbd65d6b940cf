"""Subjects to demographic groups, and groups to codes (never merging labels)."""

import numpy as np
import pandas as pd

from skeer._validation import check_one_kind

_GROUP = "group"  # index name when the groups carry no name of their own


def subject_groups(subjects, attribute):
    """The group of each comparison, from its subject's attribute.

    Parameters
    ----------
    subjects : array-like of shape (n_comparisons,)
        The subject of each comparison, normally its template owner (a protocol's
        ``subject`` column; ``probe_subject`` gives the probes' groups, for SIR).
    attribute : dict, pandas.Series or pandas.DataFrame
        Each subject's group: a dict or Series indexed by subject, or a DataFrame
        indexed by subject (or with a ``subject`` column) whose other columns are
        combined attributes. Repeated rows collapse; NaN is allowed.

    Returns
    -------
    groups : pandas.Series or pandas.DataFrame of length n_comparisons
        A Series named after the attribute (``"group"`` for a dict or unnamed
        Series), or one column per attribute: the ``groups=`` of
        :func:`fairness_report`.

    Raises
    ------
    ValueError
        On an invalid ``attribute``, or one missing or repeating a subject.

    Examples
    --------
    >>> from skeer.metrics import subject_groups
    >>> subject_groups([3, 1, 3], {1: "F", 3: "M"}).tolist()
    ['M', 'F', 'M']
    """
    if isinstance(attribute, pd.DataFrame):
        table = attribute
        if "subject" in table.columns:
            table = table.set_index("subject")
        if table.shape[1] == 0:
            raise ValueError("attribute has no column besides 'subject'.")
        table = table[~table.reset_index().duplicated().to_numpy()]
    elif isinstance(attribute, pd.Series):
        table = attribute.to_frame(_GROUP if attribute.name is None else attribute.name)
    elif isinstance(attribute, dict):
        table = pd.Series(attribute, dtype=object).infer_objects().to_frame(_GROUP)
    else:
        raise ValueError(
            "attribute must map each subject to its group: a dict, a pandas Series "
            "indexed by subject, or a DataFrame indexed by subject (or with a "
            f"'subject' column), got {type(attribute).__name__}."
        )
    duplicated = table.index.duplicated()
    if duplicated.any():
        some = pd.unique(table.index[duplicated])[:5].tolist()
        raise ValueError(
            f"attribute gives some subjects several values, e.g. subjects {some}."
        )
    raw = np.asarray(subjects, dtype=object).ravel().tolist()
    check_one_kind([*raw, *table.index.tolist()], "the subjects and attribute's ids")
    subjects = pd.Index(raw, dtype=object)
    missing = ~subjects.isin(table.index)
    if missing.any():
        some = pd.unique(subjects[missing])[:5].tolist()
        raise ValueError(
            f"attribute has no value for {int(missing.sum())} comparison(s) of "
            f"subjects {some}."
        )
    out = table.reindex(subjects).reset_index(drop=True)
    return out.iloc[:, 0] if out.shape[1] == 1 else out


def _group_frame(groups, n, name):
    """Groups of ``n`` comparisons as a DataFrame (one column an attribute)."""
    if isinstance(groups, pd.DataFrame):
        frame = groups.reset_index(drop=True)
        if frame.shape[1] == 0:
            raise ValueError(f"{name} has no column.")
    elif isinstance(groups, pd.Series):
        series = groups.reset_index(drop=True)
        frame = series.to_frame(_GROUP) if series.name is None else series.to_frame()
    else:
        arr = np.asarray(groups)
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D (one group a comparison) or a DataFrame, got "
                f"shape {arr.shape}."
            )
        frame = pd.DataFrame({_GROUP: arr})
    if len(frame) != n:
        raise ValueError(f"{name} has {len(frame)} entries for {n} comparisons.")
    return frame


def _factorize(frames):
    """Codes (-1 = missing) for each frame and the sorted distinct groups."""
    columns = list(frames[0].columns)
    for f in frames[1:]:
        if list(f.columns) != columns:
            raise ValueError(
                f"groups and probe_groups name different attributes: {columns} "
                f"and {list(f.columns)}."
            )
    stacked = pd.concat(frames, ignore_index=True)
    missing = stacked.isna().any(axis=1).to_numpy()
    for column in columns:
        check_one_kind(stacked[column].to_numpy()[~missing].tolist(), "the groups")
    if len(columns) == 1:
        keys = pd.Index(stacked.iloc[:, 0].to_numpy()[~missing], name=columns[0])
    else:
        keys = pd.MultiIndex.from_frame(stacked[~missing])
    try:
        codes, uniques = keys.factorize(sort=True)
    except TypeError:  # groups of unorderable types: keep first-seen order
        codes, uniques = keys.factorize()
    if isinstance(uniques, pd.MultiIndex):
        uniques = uniques.set_names(columns)
    else:
        uniques = pd.Index(uniques, name=columns[0])
    full = np.full(len(stacked), -1, dtype=np.intp)
    full[~missing] = codes
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [full[a:b] for a, b in zip(bounds[:-1], bounds[1:])], uniques
