"""scikit-learn compatibility, as a test (house rule 6)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skeer import KeystrokeFeatures, KeystrokeVerifier

# Each expected failure is inherent to skorch or to what a verifier is; the
# reason says which.
VERIFIER_EXPECTED_FAILED = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_ and stores module__/criterion__ keyword arguments."
    ),
    "check_classifiers_train": (
        "decision_function returns (n_samples, n_classes_) similarities also for "
        "two identities (the verifier contract: one column per enrolled "
        "identity), where sklearn expects a 1-D binary decision."
    ),
    "check_classifiers_classes": (
        "as check_classifiers_train: 2-D decision_function for two identities."
    ),
}


def _verifier():
    # small and quick; validation needs >= 4 identities and is off for fewer
    return KeystrokeVerifier(
        max_epochs=3,
        batches_per_epoch=4,
        n_subjects_per_batch=3,
        n_samples_per_subject=4,
        validation_size=0,
        lr=1e-2,
        module__hidden_sizes=(32,),
        random_state=0,
    )


@parametrize_with_checks(
    [_verifier(), KeystrokeFeatures()],
    expected_failed_checks=lambda est: (
        VERIFIER_EXPECTED_FAILED if isinstance(est, KeystrokeVerifier) else {}
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
