"""master_background: subtract a 1-D master background spectrum from every science exposure.

The master spectrum is either given (``user_background``) or combined from the
association's background members (``_x1d`` products) with combine_1d, weighted by exposure
time, and optionally smoothed by a moving median (``median_kernel``). It is then projected
onto each science pixel by wavelength (:mod:`spec3nb.steps.master_background_2d`) and
subtracted. The rules are those of jwst 3.0.0's ``MasterBackgroundStep`` (reference
section 3.2):

* Unless ``force_subtract``, nothing is done when any input (background members included)
  already had a background subtracted (``S_BKDSUB`` or ``S_MSBSUB`` COMPLETE).
* Background members from nodded exposures of the science target (``BKGDTARG`` False)
  and MIRI MRS or extended NIRSpec IFU spectra hold the sky in their ``BACKGROUND`` column,
  which is used in place of ``SURF_BRIGHT``.
* Only ``SCI`` and ``DQ`` change; the background members are not in the output (as the
  pipeline continues with the science members only).
* IFU exposures (MIRI MRS, NIRSpec IFU) take the background at each pixel's WCS wavelength;
  a NIRSpec IFU point source gets it scaled by the uniform/point pathloss ratio. jwst's
  ``MasterBackgroundStep`` has no ``sigma_clip`` (only spec2's MOS step has one), so
  neither has this step.

``user_background``: jwst takes a file name. Steps here never open files, so the function
takes the loaded x1d/c1d :class:`~spec3nb.datamodels.products.Product`; the caller (the
runner, the graph) reads the file. Its file name is what ``MASTERBG`` records.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import PurePath

import numpy as np
from scipy.signal import medfilt

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.products import SPECTRUM_TYPES, Product
from spec3nb.errors import InputFileError, ParameterError
from spec3nb.params import BOOL, INT, PATH, Param
from spec3nb.steps import master_background_2d as bg2d
from spec3nb.steps.combine1d import combine_1d
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

log = logging.getLogger(__name__)

def _label(product: Product, index: int) -> str:
    return product.filename or f"input {index}"


def _is_background(product: Product) -> bool:
    # Without an association exptype a member is science, as jwst's ModelContainer says.
    return str(product.get("asn.exptype", "science")).lower() == "background"


def already_subtracted(inputs: Sequence[Product]) -> list[int]:
    """Indices of the inputs whose background was already subtracted.

    Parameters
    ----------
    inputs : Sequence[Product]
        Every input, background members included (jwst looks at all of them).

    Returns
    -------
    list[int]
        Inputs with ``S_BKDSUB`` or ``S_MSBSUB`` equal to ``COMPLETE``.
    """
    return [i for i, p in enumerate(inputs)
            if COMPLETE in (p.get("cal_step.bkg_subtract"), p.get("cal_step.master_background"))]


def sky_as_surf_bright(product: Product) -> Product:
    """Return a background x1d whose ``SURF_BRIGHT`` column holds the sky to combine.

    For nodded exposures of the science target (``BKGDTARG`` False) and for MIRI MRS or
    extended NIRSpec IFU spectra, the sky is the ``BACKGROUND`` column: it is copied into
    ``SURF_BRIGHT`` (and ``BKGD_ERROR`` into ``SB_ERROR``), and the background columns are
    zeroed, as jwst does. Dedicated background exposures are returned unchanged.

    Parameters
    ----------
    product : Product
        A background member (x1d).

    Returns
    -------
    Product
        The product to combine.
    """
    exp_type = product.exp_type
    first_type = product.parts[0].attrs.get("source_type") if product.parts else None
    ifu_extended = exp_type == "MIR_MRS" or (exp_type == "NRS_IFU" and first_type == "EXTENDED")
    # Only a stated False means a nod: a missing BKGDTARG keeps SURF_BRIGHT, as in jwst.
    if not (metatools.get(product.meta, "observation.bkgdtarg") is False or ifu_extended):
        return product
    parts = []
    for part in product.parts:
        table = part.table.copy()
        table["SURF_BRIGHT"] = table["BACKGROUND"]
        table["SB_ERROR"] = table["BKGD_ERROR"]
        table["BACKGROUND"] = 0.0
        table["BKGD_ERROR"] = 0.0
        parts.append(part.evolve(arrays={"spec_table": table}))
    return product.evolve(parts=parts)


def _median_filtered(master: Product, median_kernel: int) -> Product:
    """Apply the moving median of width `median_kernel` to the first spectrum's columns."""
    if median_kernel % 2 == 0:
        median_kernel -= 1  # only odd widths exist; jwst rounds down
        log.info("even median_kernel rounded down to %d", median_kernel)
    if median_kernel <= 1:
        return master
    first = master.parts[0]
    table = first.table.copy()
    for column in ("SURF_BRIGHT", "FLUX"):
        # scipy's medfilt pads both ends with zeros, which jwst's result includes.
        table[column] = medfilt(np.asarray(table[column], dtype=np.float64),
                                kernel_size=[median_kernel])
    return master.evolve(parts=[first.evolve(arrays={"spec_table": table}),
                                *master.parts[1:]])


def combine_backgrounds(backgrounds: Sequence[Product], median_kernel: int) -> Product:
    """Combine the background members into the master background spectrum.

    Parameters
    ----------
    backgrounds : Sequence[Product]
        The background x1d products.
    median_kernel : int
        Width of the moving median applied to ``SURF_BRIGHT`` and ``FLUX`` (1: none).

    Returns
    -------
    Product
        The master background (``MultiCombinedSpecModel``).

    Raises
    ------
    InputFileError
        If a member is not a 1-D spectrum, or no member has a usable spectrum.
    """
    for i, product in enumerate(backgrounds):
        if product.model_type not in SPECTRUM_TYPES or not product.parts:
            raise InputFileError(_label(product, i), f"a background member must be a 1-D "
                                 f"spectrum (x1d), not a {product.model_type}")
    skies = [sky_as_surf_bright(p) for p in backgrounds]
    names = ", ".join(_label(p, i) for i, p in enumerate(backgrounds))
    if not any(np.isfinite(part.table["SURF_BRIGHT"]).any() for p in skies for part in p.parts):
        # jwst would combine them into a background of 0 and subtract that.
        raise InputFileError(names, "every background spectrum is NaN (SURF_BRIGHT, or "
                                    "BACKGROUND for nodded exposures)")
    result = combine_1d(skies, exptime_key="exposure_time")
    if result.status != COMPLETE:
        raise InputFileError(names, f"no usable background spectrum ({result.reason})")
    return _median_filtered(result.products[0], median_kernel)


def _user_spectrum(user_background: Product | str | os.PathLike[str]
                   ) -> tuple[tuple[np.ndarray, np.ndarray], str]:
    """The user background's table (see ``background_table``) and the name MASTERBG records."""
    if not isinstance(user_background, Product):
        raise ParameterError(
            "master_background", "user_background",
            f"{os.fspath(user_background)!r} is a file name; steps do not read files: pass "
            "the loaded x1d product (spec3nb's runner loads the file)")
    if user_background.model_type not in SPECTRUM_TYPES:
        raise ParameterError("master_background", "user_background",
                             f"a {user_background.model_type} is not a 1-D spectrum")
    name = user_background.filename or "user_background"
    try:
        table = bg2d.background_table(user_background)
    except ValueError as exc:
        raise ParameterError("master_background", "user_background", str(exc)) from None
    return table, PurePath(name).name


def _skipped(inputs: Sequence[Product], science: list[int], status: str | None,
             reason: str) -> StepResult:
    """The science inputs unchanged (with jwst's recorded status), and why."""
    log.warning("master_background skipped: %s", reason)
    outputs = []
    for i in science:
        product = inputs[i]
        if status is not None:
            product = product.evolve(meta={"cal_step.master_background": status})
        outputs.append(StepOutput(product, "mbsub", origin=i))
    return StepResult(tuple(outputs), SKIPPED, reason)


def _subtract_all(inputs: Sequence[Product], science: list[int],
                  table: tuple[np.ndarray, np.ndarray], user_file: str | None
                  ) -> tuple[list[StepOutput], list[StepOutput]]:
    """Subtract the master spectrum from every science input; the 2-D backgrounds too."""
    subtracted, backgrounds = [], []
    changes = {"cal_step.master_background": COMPLETE}
    if user_file is not None:
        changes["background.master_background_file"] = user_file
    for i in science:
        product = inputs[i]
        background, covered = bg2d.expand_to_2d(product, table, _label(product, i))
        if covered == 0:
            # jwst would flag a whole slit exposure DO_NOT_USE (or subtract 0 from an IFU
            # image): refuse the mismatch instead.
            raise InputFileError(
                _label(product, i),
                f"the master background spectrum ({table[0].min():.4g}-{table[0].max():.4g} "
                "um) covers none of its pixels' wavelengths")
        result = bg2d.subtract(product, background).evolve(meta=changes)
        subtracted.append(StepOutput(result, "mbsub", origin=i))
        backgrounds.append(StepOutput(background, "masterbg2d", origin=i))
    return subtracted, backgrounds


def master_background(
    inputs: Sequence[Product],
    *,
    median_kernel: int = 1,
    user_background: Product | str | os.PathLike[str] | None = None,
    save_background: bool = False,
    force_subtract: bool = False,
) -> StepResult:
    """Subtract the master background from the science members of an association.

    Parameters
    ----------
    inputs : Sequence[Product]
        Science products (``MultiSlitModel``, ``SlitModel``, ``ImageModel``,
        ``IFUImageModel``) and background x1d members, told apart by ``asn.exptype``.
    median_kernel : int
        Width of the moving median smoothing the combined background (even widths are
        rounded down; 1 or less: no smoothing). Not applied to a user background.
    user_background : Product, optional
        A loaded x1d/c1d spectrum to subtract instead of combining the background members.
    save_background : bool
        Also return the master spectrum (``masterbg1d``, not for a user background) and the
        2-D background of each science input (``masterbg2d``).
    force_subtract : bool
        Subtract even if a background was already subtracted.

    Returns
    -------
    StepResult
        One ``mbsub`` product per science input (``origin`` = its index in `inputs`), plus
        the saved backgrounds; SKIPPED (science inputs unchanged) when a background was
        already subtracted, when there is nothing to subtract, or for unsupported inputs.

    Raises
    ------
    InputFileError
        If a slit's wavelengths cannot be found, or a background member is not usable.
    ParameterError
        If `user_background` is a file name instead of a loaded product.
    """
    science = [i for i, p in enumerate(inputs) if not _is_background(p)]
    done = already_subtracted(inputs)
    if done and not force_subtract:
        which = "all inputs" if len(done) == len(inputs) else "some inputs (a mixture)"
        return _skipped(inputs, science, SKIPPED,
                        f"background already subtracted in {which}; set force_subtract "
                        "to subtract the master background anyway")
    try:
        bg2d.check_parts([inputs[i] for i in science])
    except TypeError as exc:
        return _skipped(inputs, science, "FAILED", str(exc))
    outputs: list[StepOutput] = []
    if user_background is not None:
        table, user_file = _user_spectrum(user_background)
    else:
        backgrounds = [p for p in inputs if _is_background(p)]
        if not backgrounds:
            return _skipped(inputs, science, "FAILED",
                            "no background members and no user_background")
        spectrum, user_file = combine_backgrounds(backgrounds, median_kernel), None
        table = bg2d.background_table(spectrum)
        if save_background:
            outputs.append(StepOutput(spectrum, "masterbg1d"))
    if not science:
        return _skipped(inputs, science, None, "no science members")
    subtracted, backgrounds_2d = _subtract_all(inputs, science, table, user_file)
    if save_background:
        outputs.extend(backgrounds_2d)
    return StepResult(tuple(subtracted + outputs), COMPLETE)


SPEC = StepSpec(
    name="master_background",
    summary="Subtract a master background spectrum (from background members or the user)",
    function=master_background,
    params=(
        Param("median_kernel", INT, 1,
              "width of the moving median applied to the combined background spectrum "
              "(odd; even widths are rounded down; 1: none)"),
        Param("user_background", PATH, None,
              "x1d file of a background spectrum to subtract instead of the background "
              "members"),
        Param("save_background", BOOL, False,
              "also write the master background (_masterbg1d) and its 2-D projection on "
              "each exposure (_masterbg2d)"),
        Param("force_subtract", BOOL, False,
              "subtract even when a background was already subtracted (S_BKDSUB or "
              "S_MSBSUB COMPLETE)"),
    ),
    product_params=("user_background",),
    jwst_class="jwst.master_background.MasterBackgroundStep",
)
