"""A sample prediction held to model.signature.outputs, purely."""

from __future__ import annotations

from mlops_ci.core.signature import Field, Signature, output_mismatches, signature_mismatches


def test_a_sample_prediction_that_fits_has_no_mismatch() -> None:
    declared = (
        Field("score", "float"),
        Field("label", "int"),
        Field("why", "string"),
        Field("flag", "bool"),
        Field("embedding", "tensor", (-1, 2)),
    )
    sample = {"score": 1, "label": 2.0, "why": "x", "flag": False, "embedding": [[1, 2.5]]}
    assert output_mismatches(declared, sample) == []


def test_a_missing_a_retyped_and_an_undeclared_output_are_each_named() -> None:
    declared = (
        Field("churn_probability", "float"),
        Field("label", "int"),
        Field("t", "tensor", (3,)),
    )
    sample = {"label": True, "t": [1, 2], "churn_score": 0.3}
    assert output_mismatches(declared, sample) == [
        "the model gives no output 'churn_probability' (model.signature.outputs declares it)",
        "output 'label' is a bool, not the int model.signature.outputs declares",
        "output 't' is a list of 2, not the tensor model.signature.outputs declares (shape [3])",
        "the model gives output 'churn_score', which model.signature.outputs does not declare; "
        "declare it (an added output is a minor change)",
    ]


def test_a_sample_that_is_no_object_is_said_so() -> None:
    assert output_mismatches((Field("a", "float"),), [0.3]) == [
        "the sample prediction is a list of 1, not an object of outputs"
    ]


def test_the_declared_signature_against_the_logged_one_names_each_difference() -> None:
    declared = Signature(
        inputs=(Field("tenure", "float"), Field("plan", "string")),
        outputs=(Field("proba", "tensor", (-1, 2)),),
    )
    logged = Signature(
        inputs=(Field("tenure", "int"), Field("region", "string")),
        outputs=(Field("proba", "tensor", (-1, 3)),),
    )
    assert signature_mismatches(declared, declared) == []
    assert signature_mismatches(declared, logged) == [
        "input 'tenure' is int in the MLmodel file, not the float model.signature.inputs declares",
        "the MLmodel file has no input 'plan' (model.signature.inputs declares it)",
        "the MLmodel file has input 'region', which model.signature.inputs does not declare; "
        "declare it",
        "output 'proba' is tensor of shape [-1, 3] in the MLmodel file, not the tensor of "
        "shape [-1, 2] model.signature.outputs declares",
    ]
