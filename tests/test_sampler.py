import numpy as np
import pytest

from skeer.verifier import SubjectBatchSampler


def test_batches_have_p_identities_times_k_samples():
    labels = np.repeat(np.arange(10), 6)
    sampler = SubjectBatchSampler(labels, 4, 3, n_batches=20, random_state=0)
    assert len(sampler) == 20
    for batch in sampler:
        ids, counts = np.unique(labels[batch], return_counts=True)
        assert len(ids) == 4
        assert (counts == 3).all()
        assert len(set(batch)) == len(batch)  # no repeats when enough samples


def test_identities_with_few_samples_are_drawn_with_replacement():
    labels = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    sampler = SubjectBatchSampler(labels, 2, 4, n_batches=5, random_state=0)
    for batch in sampler:
        assert np.sum(labels[batch] == 0) == 4
        assert set(np.asarray(batch)[labels[batch] == 0]) <= {0, 1}


def test_singletons_are_skipped_with_a_counted_warning():
    labels = np.array([0, 0, 1, 1, 2, 3, 4])
    with pytest.warns(UserWarning, match="3 identities have a single sample"):
        sampler = SubjectBatchSampler(labels, 5, 2, random_state=0)
    assert sampler.n_skipped_ == 3
    assert sampler.n_subjects == 2
    for batch in sampler:
        assert set(labels[batch]) == {0, 1}


def test_default_epoch_length_covers_the_usable_samples():
    labels = np.repeat(np.arange(10), 7)  # 70 samples, batches of 2 x 3 = 6
    sampler = SubjectBatchSampler(labels, 2, 3)
    assert len(sampler) == 12


def test_seeded_epochs_differ_but_runs_repeat():
    labels = np.repeat(np.arange(20), 5)
    a = SubjectBatchSampler(labels, 4, 2, n_batches=3, random_state=1)
    b = SubjectBatchSampler(labels, 4, 2, n_batches=3, random_state=1)
    first_a, second_a = list(a), list(a)
    assert first_a == list(b)
    assert first_a != second_a
    fixed = SubjectBatchSampler(
        labels, 4, 2, n_batches=3, random_state=1, reseed_each_epoch=True
    )
    assert list(fixed) == list(fixed)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_subjects": 1}, "n_subjects"),
        ({"n_samples": 1}, "n_samples"),
        ({"n_batches": 0}, "n_batches"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SubjectBatchSampler(np.repeat(np.arange(3), 3), **kwargs)


def test_too_few_usable_identities():
    with pytest.raises(ValueError, match="at least 2 identities"):
        with pytest.warns(UserWarning, match="single sample"):
            SubjectBatchSampler([0, 0, 1], 2, 2)
    with pytest.raises(ValueError, match="labels"):
        SubjectBatchSampler([], 2, 2)
