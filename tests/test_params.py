"""Typed parameter declarations: parsing, validation and messages."""

from __future__ import annotations

import math

import pytest

from spec3nb.errors import ParameterError
from spec3nb.params import BOOL, CHOICE, FLOAT, FLOATS, INT, PATH, STR, Param
from spec3nb.steps.spec import StepResult, StepSpec

SNR = Param("snr", FLOATS, (5.0, 4.0), "thresholds", length=2, minimum=0)


@pytest.mark.parametrize("text", ["5.0,4.0", "5.0 4.0", "[5, 4]", " 5.0 , 4.0 "])
def test_float_pair_accepts_spec3nb_and_jwst_forms(text: str) -> None:
    assert SNR.parse(text) == (5.0, 4.0)


@pytest.mark.parametrize("bad, message", [
    ("5.0", "needs 2 values"), ("5,4,3", "needs 2 values"), ("a,b", "not a number"),
    ("-1,2", "below the minimum"), ("nan,1", "NaN"),
])
def test_float_pair_rejects(bad: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SNR.parse(bad)


def test_default_is_typed_and_checked() -> None:
    assert SNR.default == (5.0, 4.0)
    with pytest.raises(ValueError):
        Param("x", INT, 1.5, "not whole")


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("1", True),
                                         ("no", False)])
def test_bool(text: str, value: bool) -> None:
    assert Param("b", BOOL, False, "").parse(text) is value


def test_bool_rejects_words() -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        Param("b", BOOL, False, "").parse("maybe")
    with pytest.raises(ValueError, match="not a boolean"):
        Param("b", BOOL, False, "").coerce(2)


def test_int_and_float_ranges() -> None:
    order = Param("bkg_order", INT, None, "", minimum=0)
    assert order.nullable and order.default is None
    assert order.parse("2") == 2 and isinstance(order.parse("2"), int)
    assert order.parse("None") is None
    with pytest.raises(ValueError, match="below the minimum"):
        order.parse("-1")
    with pytest.raises(ValueError, match="whole number"):
        order.parse("1.5")
    rscale = Param("ifu_rscale", FLOAT, None, "", minimum=0.5, maximum=3)
    assert math.isclose(rscale.parse("2.5"), 2.5)
    with pytest.raises(ValueError, match="above the maximum"):
        rscale.coerce(4.0)
    with pytest.raises(ValueError, match="not a number"):
        rscale.coerce(True)


def test_choice_is_case_insensitive_and_canonical() -> None:
    kernel = Param("kernel", CHOICE, "square", "", choices=("square", "point", "turbo"))
    assert kernel.coerce("POINT") == "point"
    with pytest.raises(ValueError, match="not one of 'square', 'point', 'turbo'"):
        kernel.coerce("lanczos9")


def test_strings_and_paths() -> None:
    assert Param("s", STR, "exposure_time", "").parse(" effinttm ") == "effinttm"
    path = Param("override_cubepar", PATH, None, "")
    assert path.parse("N/A") == "N/A" and path.parse("none") is None
    with pytest.raises(ValueError, match="not a file name"):
        path.coerce(3)


def _noop(inputs, **params):
    return StepResult(())


def test_step_spec_validates_with_clear_messages() -> None:
    spec = StepSpec("demo", "a demo", _noop, params=(SNR,), reference_types=("cubepar",))
    assert spec.defaults() == {"snr": (5.0, 4.0), "override_cubepar": None}
    assert spec.validate({"snr": "6 5"})["snr"] == (6.0, 5.0)
    with pytest.raises(ParameterError, match="demo: parameter 'snrr': unknown parameter "
                                             r"\(known: snr, override_cubepar\)"):
        spec.validate({"snrr": "1"})
    with pytest.raises(ParameterError, match="parameter 'snr': needs 2 values"):
        spec.validate({"snr": "1"})
