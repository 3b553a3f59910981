"""Instrument modes and the steps calwebb_spec3 runs for each.

The mode is decided by ``EXP_TYPE`` of the first science member, as in the official
pipeline. The mode -> steps table (architecture.md section 3, the project's specification)
is data: the session builds its graph from :data:`STEP_TABLE`, never from branches on
``exp_type`` inside the steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from spec3nb.errors import ModeError


@dataclasses.dataclass(frozen=True)
class Mode:
    """One instrument mode that calwebb_spec3 handles.

    Parameters
    ----------
    name : str
        spec3nb's short name (``nrs_fs``, ``mir_mrs`` ...), as used by ``spec3nb simulate``.
    exp_type : str
        The ``EXP_TYPE`` keyword value.
    label : str
        A human-readable name.
    kind : str
        ``slit``, ``ifu``, ``soss`` or ``wfss``.
    """

    name: str
    exp_type: str
    label: str
    kind: str

    @property
    def multi_source(self) -> bool:
        """Whether the inputs are split into one product per source (exp_to_source)."""
        return self.exp_type in _MULTISLIT_TYPES

    @property
    def slitless(self) -> bool:
        """Whether the mode is slitless (SOSS or WFSS): no resampling, combine_1d at the end."""
        return self.kind in ("soss", "wfss")


MODES: Mapping[str, Mode] = MappingProxyType({
    m.name: m
    for m in (
        Mode("nrs_fs", "NRS_FIXEDSLIT", "NIRSpec fixed slit", "slit"),
        Mode("nrs_mos", "NRS_MSASPEC", "NIRSpec MOS", "slit"),
        Mode("nrs_ifu", "NRS_IFU", "NIRSpec IFU", "ifu"),
        Mode("mir_lrs", "MIR_LRS-FIXEDSLIT", "MIRI LRS fixed slit", "slit"),
        Mode("mir_mrs", "MIR_MRS", "MIRI MRS", "ifu"),
        Mode("nis_soss", "NIS_SOSS", "NIRISS SOSS", "soss"),
        Mode("nis_wfss", "NIS_WFSS", "NIRISS WFSS", "wfss"),
        Mode("nrc_wfss", "NRC_WFSS", "NIRCam WFSS", "wfss"),
        Mode("mir_wfss", "MIR_WFSS", "MIRI WFSS", "wfss"),
    )
})

_BY_EXP_TYPE = MappingProxyType({m.exp_type: m for m in MODES.values()})
_MULTISLIT_TYPES = frozenset({"NRS_FIXEDSLIT", "NRS_MSASPEC", "NIS_WFSS", "NRC_WFSS", "MIR_WFSS"})

#: Time-series types, which belong to calwebb_tso3.
TSO_TYPES: frozenset[str] = frozenset(
    {"NRS_BRIGHTOBJ", "NRC_TSGRISM", "MIR_LRS-SLITLESS", "NRC_TSIMAGE"}
)

# Conditions under which a step is in a mode's graph.
ALWAYS, MOVING, BACKGROUND = "always", "moving", "background"

#: Steps in pipeline order, each with the modes it runs for and its condition.
STEP_TABLE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("assign_mtwcs", frozenset(MODES), MOVING),
    ("master_background", frozenset({"nrs_fs", "nrs_ifu", "mir_lrs", "mir_mrs"}), BACKGROUND),
    ("exp_to_source", frozenset({"nrs_fs", "nrs_mos", "nis_wfss", "nrc_wfss", "mir_wfss"}),
     ALWAYS),
    ("mrs_imatch", frozenset({"mir_mrs"}), ALWAYS),
    ("outlier_detection", frozenset({"nrs_fs", "nrs_mos", "nrs_ifu", "mir_lrs", "mir_mrs"}),
     ALWAYS),
    ("resample_spec", frozenset({"nrs_fs", "nrs_mos", "mir_lrs"}), ALWAYS),
    ("cube_build", frozenset({"nrs_ifu", "mir_mrs"}), ALWAYS),
    ("extract_1d", frozenset(MODES), ALWAYS),
    ("combine_1d", frozenset({"nis_soss", "nis_wfss", "nrc_wfss", "mir_wfss"}), ALWAYS),
    # jwst 3.0.0 runs it on the MRS x1d products after extract_1d (it skips itself unless
    # a point source has both channel 1B and 3A spectra).
    ("spectral_leak", frozenset({"mir_mrs"}), ALWAYS),
)


def mode_for_exp_type(exp_type: str | None, *, tso: bool = False) -> Mode:
    """Return the mode of an ``EXP_TYPE`` value, refusing what spec3 does not take.

    Parameters
    ----------
    exp_type : str or None
        The exposure type.
    tso : bool
        Whether the exposure is a time series (``TSOVISIT = T``).

    Returns
    -------
    Mode
        The mode.

    Raises
    ------
    ModeError
        For time-series exposures, unknown or missing types.
    """
    if not exp_type:
        raise ModeError("the exposure has no EXP_TYPE keyword, so its mode is unknown")
    key = exp_type.strip().upper()
    if key in TSO_TYPES or tso:
        raise ModeError(
            f"EXP_TYPE {key} is a time-series observation: calwebb_spec3 does not process "
            "it; use the official calwebb_tso3 pipeline"
        )
    if key not in _BY_EXP_TYPE:
        known = ", ".join(sorted(_BY_EXP_TYPE))
        raise ModeError(
            f"EXP_TYPE {key} is not a Stage-3 spectroscopic mode (spec3 takes {known}); "
            "imaging goes through calwebb_image3"
        )
    return _BY_EXP_TYPE[key]


def detect_mode(exp_types: Iterable[str | None], *, tso: bool = False) -> Mode:
    """Return the mode of a set of science exposures.

    The first exposure decides, as in the official pipeline, but exposures of different
    types are refused instead of silently mis-processed.

    Parameters
    ----------
    exp_types : Iterable[str or None]
        ``EXP_TYPE`` of each science exposure, in association order.
    tso : bool
        Whether the first exposure is a time series.

    Returns
    -------
    Mode
        The mode.

    Raises
    ------
    ModeError
        For an empty list, mixed types, time series or unknown types.
    """
    types = [t.strip().upper() if t else t for t in exp_types]
    if not types:
        raise ModeError("no science exposures: nothing to process")
    mode = mode_for_exp_type(types[0], tso=tso)
    others = sorted({str(t) for t in types if t != types[0]})
    if others:
        raise ModeError(
            f"mixed exposure types: the first is {types[0]} but others are "
            f"{', '.join(others)}; make one association per mode"
        )
    return mode


def steps_for(
    mode: Mode | str, *, moving: bool = False, background: bool = False
) -> tuple[str, ...]:
    """Return the steps of a mode's graph in pipeline order.

    Parameters
    ----------
    mode : Mode or str
        The mode or its name.
    moving : bool
        Whether the target is a moving target (``TARGTYPE = MOVING``).
    background : bool
        Whether the association has background members.

    Returns
    -------
    tuple[str, ...]
        Step names.
    """
    name = mode.name if isinstance(mode, Mode) else mode
    if name not in MODES:
        raise ModeError(f"unknown mode {name!r}; known: {', '.join(MODES)}")
    wanted = {ALWAYS: True, MOVING: moving, BACKGROUND: background}
    return tuple(step for step, modes, cond in STEP_TABLE if name in modes and wanted[cond])
