"""A small valid MIRI MRS ``MRSPTCORR`` reference file, written with stdatamodels.

Only ``LEAKCOR`` matters to spec3 (spectral_leak); the across-slice tables spec2 reads are
given one plausible row each so that the file is a complete ``MirMrsPtCorrModel``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def leak_fraction(wave: np.ndarray) -> np.ndarray:
    """The simulated leak: a bump of a few per cent around 12.2 micron (as the real one)."""
    return 0.03 * np.exp(-0.5 * ((np.asarray(wave) - 12.2) / 0.25) ** 2)


def write_mrsptcorr(path: Path, *, wave: np.ndarray | None = None,
                    frac: np.ndarray | None = None) -> Path:
    """Write an MRSPTCORR reference to `path` and return the path.

    Parameters
    ----------
    path : pathlib.Path
        Where to write it.
    wave, frac : numpy.ndarray, optional
        ``LEAKCOR`` wavelengths (micron) and leak fractions (default: 11.5-13.5 micron,
        :func:`leak_fraction`).

    Returns
    -------
    pathlib.Path
        `path`.
    """
    from stdatamodels.jwst import datamodels

    wave = np.linspace(11.5, 13.5, 81) if wave is None else np.asarray(wave)
    frac = leak_fraction(wave) if frac is None else np.asarray(frac)
    leak = np.zeros(wave.size, dtype=[("wavelength", "f4"), ("frac_leak", "f4"),
                                      ("err_leak", "f4")])
    leak["wavelength"], leak["frac_leak"], leak["err_leak"] = wave, frac, 0.1 * frac
    tracor = np.array([(1, 4.9, 7.65, 1.0, 0.98, 1.0, 0.97)], dtype=[
        ("channel", "i4"), ("wave_min", "f4"), ("wave_max", "f4"), ("t_wmin_centre", "f4"),
        ("t_wmin_edge", "f4"), ("t_wmax_centre", "f4"), ("t_wmax_edge", "f4")])
    optical = np.array([("1A", 0.177, 4.9, 5.74, 3320.0, 3710.0)], dtype=[
        ("sub_band", "S16"), ("beta_slice", "f4"), ("wave_min", "f4"), ("wave_max", "f4"),
        ("srp_min", "f4"), ("srp_max", "f4")])
    xslice = np.array([(0.0, 1.0)], dtype=[("xslice_min", "f4"), ("xslice_max", "f4")])
    shift = np.array([(0.0, 0.0, 0.0)], dtype=[("beta_off", "f4"), ("ds_min", "f4"),
                                               ("ds_max", "f4")])
    model = datamodels.MirMrsPtCorrModel()
    model.leakcor_table = leak
    model.tracor_table = tracor
    model.wavcorr_optical_table = optical
    model.wavcorr_xslice_table = xslice
    model.wavcorr_shift_table = shift
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "MIRI"
    meta.instrument.detector = "MIRIFULONG"
    meta.exposure.type = "MIR_MRS"
    meta.reftype = "MRSPTCORR"
    meta.author = "spec3nb tests"
    meta.description = "Small MRSPTCORR for spec3nb's spectral_leak tests"
    meta.pedigree = "DUMMY"
    meta.useafter = "2022-01-01T00:00:00"
    meta.filename = Path(path).name
    model.save(str(path))
    model.close()
    return Path(path)
