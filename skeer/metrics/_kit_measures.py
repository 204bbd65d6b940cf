"""The KVC-onGoing kit's fairness measures from per-group rates, as the kit computes."""

import warnings

import numpy as np
import pandas as pd


def _kit_threshold(genuine, scores):
    """The kit's ``compute_eer`` threshold, from all comparisons pooled."""
    from sklearn.metrics import roc_curve

    fmr, tmr, thresholds = roc_curve(genuine.astype(np.int64), scores, pos_label=1)
    return float(thresholds[np.nanargmin(np.abs((1 - tmr) - fmr))])


def _gini(values):
    """The kit's ``compute_Gini_coeffs``: n/(n-1) * sum|xi - xj| / (2 n^2 mean)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    total = np.abs(x[:, None] - x[None, :]).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(n / (n - 1) * total / (2 * n * n * x.mean()))


def _kit_ser(values):
    """SER as the kit computes it (of accuracies): the highest over the lowest."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(x) / np.min(x))


def _kit_std(accuracy):
    """STD: sample standard deviation (ddof=1) of the groups' accuracies."""
    return float(np.std(np.asarray(accuracy, dtype=np.float64), ddof=1))


def _kit_fdr(fnmr, fmr, alpha):
    """FDR = 1 - (alpha * (max - min) FNMR + (1 - alpha) * (max - min) FMR)."""
    a = float(np.max(fnmr) - np.min(fnmr))
    b = float(np.max(fmr) - np.min(fmr))
    return 1.0 - (alpha * a + (1 - alpha) * b)


def _kit_ir(fnmr, fmr, alpha):
    """IR = (max / min FNMR) ** alpha * (max / min FMR) ** (1 - alpha)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(
            np.float64(_kit_ser(fnmr)) ** alpha
            * np.float64(_kit_ser(fmr)) ** (1 - alpha)
        )


def _kit_garbe(fnmr, fmr, alpha):
    """GARBE = alpha * Gini(FNMR) + (1 - alpha) * Gini(FMR)."""
    return alpha * _gini(fnmr) + (1 - alpha) * _gini(fmr)


def _kit_sir(matrix):
    """SIR (%) from the symmetric matrix of mean impostor scores between groups."""
    m = np.asarray(matrix, dtype=np.float64)
    same = np.diag(m)
    between = m[np.tril_indices(len(m), k=-1)]
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # empty nanmean
        return float(100 * (np.nanmean(same) / np.nanmean(between) - 1))


def _impostor_matrix(scores, owner, probe, index):
    """Mean impostor score of each pair of groups, both directions pooled."""
    k = len(index)
    known = probe >= 0  # probes of a group without a row of its own are ignored
    a, b, s = owner[known], probe[known], scores[known]
    total = np.zeros((k, k))
    count = np.zeros((k, k))
    np.add.at(total, (a, b), s)
    np.add.at(count, (a, b), 1)
    total += total.T - np.diag(np.diag(total))
    count += count.T - np.diag(np.diag(count))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
    return pd.DataFrame(mean, index=index, columns=index)
