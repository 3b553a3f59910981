"""spectral_leak: remove the channel 1B light that leaks into MIRI MRS channel 3A.

The MRS dichroics let a little 6 micron light (channel 1B) through to the 12 micron band
(channel 3A) in second order, so a point source's channel 3A spectrum holds, at each
wavelength, a fraction of its channel 1B flux at half that wavelength. The ``LEAKCOR`` table
of the ``MRSPTCORR`` reference gives that fraction per wavelength. The rules are those of
jwst 3.0.0's ``SpectralLeakStep`` (reference section 3.13):

* the inputs are the x1d products of one MRS source (``MultiSpecModel`` or
  ``MRSMultiSpecModel``); anything else, or any extended source, leaves every input as it is
  with ``S_SPLEAK = SKIPPED``;
* channel 1B is a product whose CHANNEL holds ``1`` and whose BAND holds ``MEDIUM``, or BAND
  ``MULTIPLE`` with wavelengths spanning 6 micron; channel 3A likewise with ``3``, ``SHORT``
  and 12 micron (the last such product wins, as in jwst's loop);
* ``FLUX_3A -= interp(lambda_3A, 2 lambda_1B, FLUX_1B) * interp(lambda_3A, leak wavelength,
  frac_leak)`` (``numpy.interp``: edge values held beyond the tables), and likewise
  ``RF_FLUX`` when both products are ``MRSMultiSpecModel``; errors and surface brightness
  are not changed; only the 3A product gets ``S_SPLEAK = COMPLETE``.

Deviation: jwst fetches the reference from CRDS; offline there is none, so without an
``override_mrsptcorr`` (or with ``N/A``) the step is SKIPPED and says why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels.products import Product
from spec3nb.errors import InputFileError
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

log = logging.getLogger(__name__)

#: x1d model types the step corrects.
X1D_TYPES = frozenset({"MultiSpecModel", "MRSMultiSpecModel"})

#: Wavelengths (micron) a multi-band spectrum must span to count as channel 1B / 3A.
CH1B_WAVE, CH3A_WAVE = 6.0, 12.0


def _label(product: Product, index: int) -> str:
    return product.filename or f"input {index}"


def _wavelengths(product: Product) -> np.ndarray:
    return np.asarray(product.parts[0].table["WAVELENGTH"], dtype=np.float64)


def _is_band(product: Product, channel: str, band: str, wave: float) -> bool:
    """Whether `product` is the given channel and band (or a multi-band one covering `wave`)."""
    channels = str(product.get("instrument.channel") or "")
    bands = str(product.get("instrument.band") or "").upper()
    if channel not in channels:
        return False
    if band in bands:
        return True
    if "MULTIPLE" in bands:
        lam = _wavelengths(product)
        # np.min, not nanmin: a NaN wavelength makes jwst's comparisons False, so here too
        return bool(np.min(lam) < wave and np.max(lam) > wave)
    return False


def find_leak_bands(inputs: Sequence[Product]) -> tuple[int | None, int | None, str]:
    """Find the channel 1B and 3A spectra among the x1d products.

    Parameters
    ----------
    inputs : Sequence[Product]
        The x1d products of one source.

    Returns
    -------
    tuple[int or None, int or None, str]
        Indices of the 1B and 3A products (None when absent; both None when the inputs
        cannot be corrected at all) and, when the step must skip, why.

    Raises
    ------
    InputFileError
        If an x1d product holds no spectrum.
    """
    i1b = i3a = None
    for i, product in enumerate(inputs):
        if product.model_type not in X1D_TYPES:
            return None, None, f"{_label(product, i)} is a {product.model_type}, not an " \
                               "extracted spectrum"
        if not product.parts or "spec_table" not in product.parts[0].arrays:
            raise InputFileError(_label(product, i), "an x1d product without a spectrum")
        if product.parts[0].attrs.get("source_type") == "EXTENDED":
            return None, None, "no spectral leak correction for an extended source"
        if _is_band(product, "1", "MEDIUM", CH1B_WAVE):
            i1b = i
        if _is_band(product, "3", "SHORT", CH3A_WAVE):
            i3a = i
    if i1b is None or i3a is None:
        return i1b, i3a, "channel 1B and channel 3A spectra are both needed; found " \
            f"{'1B' if i1b is not None else 'no 1B'} and {'3A' if i3a is not None else 'no 3A'}"
    return i1b, i3a, ""


def leak(wave3a: np.ndarray, wave1b: np.ndarray, flux1b: np.ndarray,
         leakcor: np.ndarray) -> np.ndarray:
    """The leaked flux at each channel 3A wavelength.

    Parameters
    ----------
    wave3a : numpy.ndarray
        Channel 3A wavelengths (micron).
    wave1b, flux1b : numpy.ndarray
        Channel 1B wavelengths and flux (or ``RF_FLUX``).
    leakcor : numpy.ndarray
        The reference's ``LEAKCOR`` table (``wavelength``, ``frac_leak``).

    Returns
    -------
    numpy.ndarray
        ``interp(wave3a, 2 wave1b, flux1b) * interp(wave3a, wavelength, frac_leak)``: the
        second-order light of channel 1B lands at twice its wavelength.
    """
    return (np.interp(wave3a, 2 * wave1b, flux1b)
            * np.interp(wave3a, leakcor["wavelength"], leakcor["frac_leak"]))


def correct(ch1b: Product, ch3a: Product, leakcor: np.ndarray) -> Product:
    """Return `ch3a` with the leak of `ch1b` removed from ``FLUX`` (and ``RF_FLUX``).

    Parameters
    ----------
    ch1b, ch3a : Product
        The channel 1B and 3A x1d products (their first spectrum is used).
    leakcor : numpy.ndarray
        The ``LEAKCOR`` table.

    Returns
    -------
    Product
        The corrected 3A product, ``S_SPLEAK = COMPLETE``.
    """
    t1b, t3a = ch1b.parts[0].table, ch3a.parts[0].table
    wave1b = np.asarray(t1b["WAVELENGTH"], dtype=np.float64)
    wave3a = np.asarray(t3a["WAVELENGTH"], dtype=np.float64)
    table = t3a.copy()
    table["FLUX"] = t3a["FLUX"] - leak(wave3a, wave1b, t1b["FLUX"], leakcor)
    if ch1b.model_type == ch3a.model_type == "MRSMultiSpecModel":
        table["RF_FLUX"] = t3a["RF_FLUX"] - leak(wave3a, wave1b, t1b["RF_FLUX"], leakcor)
    first = ch3a.parts[0].evolve(arrays={"spec_table": table})
    return ch3a.evolve(parts=[first, *ch3a.parts[1:]],
                       meta={"cal_step.spectral_leak": COMPLETE})


def _leakcor(references: Mapping[str, Any] | None) -> np.ndarray | None:
    table = (references or {}).get("mrsptcorr")
    return table if isinstance(table, np.ndarray) else None


def spectral_leak(inputs: Sequence[Product], *,
                  references: Mapping[str, Any] | None = None) -> StepResult:
    """Correct the channel 3A spectrum of a MIRI MRS point source for the 1B leak.

    Parameters
    ----------
    inputs : Sequence[Product]
        The x1d products of one source (one per cube).
    references : Mapping[str, Any], optional
        ``mrsptcorr``: the ``LEAKCOR`` table
        (:func:`spec3nb.datamodels.ref_mrsptcorr.load_mrsptcorr`); none or ``"N/A"`` skips.

    Returns
    -------
    StepResult
        Every input (suffix ``x1d``, ``origin`` its index), the 3A one corrected: COMPLETE;
        or every input with ``S_SPLEAK = SKIPPED``, and why.

    Raises
    ------
    InputFileError
        If an x1d product holds no spectrum.
    """
    leakcor = _leakcor(references)
    if leakcor is None:
        i1b = i3a = None
        reason = "no MRSPTCORR reference (set override_mrsptcorr to the file)"
    else:
        i1b, i3a, reason = find_leak_bands(inputs)
    if reason:
        log.warning("spectral_leak skipped: %s", reason)
        skipped = tuple(StepOutput(p.evolve(meta={"cal_step.spectral_leak": SKIPPED}), "x1d",
                                   origin=i) for i, p in enumerate(inputs))
        return StepResult(skipped, SKIPPED, reason)
    outputs = [StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs)]
    outputs[i3a] = StepOutput(correct(inputs[i1b], inputs[i3a], leakcor), "x1d", origin=i3a)
    return StepResult(tuple(outputs), COMPLETE)


SPEC = StepSpec(
    name="spectral_leak",
    summary="Remove the MIRI MRS channel 1B second-order leak from channel 3A spectra",
    function=spectral_leak,
    params=(),
    reference_types=("mrsptcorr",),
    jwst_class="jwst.spectral_leak.SpectralLeakStep",
)
