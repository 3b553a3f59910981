"""Built-in cube parameters, used by cube_build when no CUBEPAR reference is given.

jwst 3.0.0 refuses to build a cube without a CUBEPAR reference file; spec3nb falls back on
these values so that a cube can always be made offline. They are NOT the operational CRDS
values (those cannot be fetched here); a real CUBEPAR file passed as ``override_cubepar``
always takes precedence. Sources:

* MIRI MRS ``CUBEPAR`` rows (WAVEMIN, WAVEMAX, SPAXELSIZE, SPECTRALSTEP) and the MSM/EMSM
  ``ROISPATIAL``/``ROISPECTRAL``/``POWER``/``SOFTRAD``: the CUBEPAR fixture of jwst 3.0.0's
  unit tests (``jwst/cube_build/tests/test_cube_build_step.py``, ``miri_cube_pars``).
  ``SCALERAD`` (EMSM) is set to the spaxel size (the fixture's 0.01 arcsec is a placeholder
  that would make the EMSM kernel a delta function).
* NIRSpec ``SPAXELSIZE`` (0.1 arcsec) and ``SPECTRALSTEP`` per grating: jwst 3.0.0's
  hard-coded fallbacks (``jwst/cube_build/instrument_defaults.py``); wavelength ranges: the
  nominal grating/filter ranges of the NIRSpec documentation (JDox "NIRSpec Dispersers and
  Filters"); ROIs: spatial ROI = spaxel size, spectral ROI = 2 spectral steps (spec3nb's
  choice, as the simulator's cubepar).
* Multi-band wavelength tables: geometric grids with resolving power 3500 (MIRI), 100
  (PRISM), 1000 (M) and 2700 (H) spanning the instrument's range, with the spatial ROI
  growing linearly with wavelength (spec3nb's choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from spec3nb.datamodels.ref_cubepar import BandPars, CubePars

SOURCE = "spec3nb built-in defaults (jwst 3.0.0 unit-test MIRI values, NIRSpec fallbacks)"

_MIRI_BANDS = ("short", "medium", "long")
_MIRI_WMIN = (4.89, 5.65, 6.52, 7.49, 8.65, 10.00, 11.53, 13.37, 15.44, 17.66, 20.54, 23.95)
_MIRI_WMAX = (5.75, 6.64, 7.66, 8.78, 10.14, 11.7, 13.48, 15.63, 18.05, 20.92, 24.40, 28.45)
_MIRI_SPAXEL = {"1": 0.13, "2": 0.17, "3": 0.2, "4": 0.35}
_MIRI_STEP = {"1": 0.001, "2": 0.002, "3": 0.003, "4": 0.006}
_MIRI_ROIS = {"1": 0.1, "2": 0.15, "3": 0.2, "4": 0.4}

#: NIRSpec (grating, filter) -> (wavemin, wavemax, spectral step) in micron.
_NIRSPEC: Mapping[tuple[str, str], tuple[float, float, float]] = {
    ("prism", "clear"): (0.60, 5.30, 0.005),
    ("g140m", "f070lp"): (0.70, 1.27, 0.000636),
    ("g140m", "f100lp"): (0.97, 1.89, 0.000636),
    ("g235m", "f170lp"): (1.66, 3.17, 0.00106),
    ("g395m", "f290lp"): (2.87, 5.27, 0.00179),
    ("g140h", "f070lp"): (0.70, 1.27, 0.000235),
    ("g140h", "f100lp"): (0.97, 1.89, 0.000235),
    ("g235h", "f170lp"): (1.66, 3.17, 0.000396),
    ("g395h", "f290lp"): (2.87, 5.27, 0.000665),
}


def _f32(value: float) -> float:
    # Reference files hold single precision; keep defaults on the same footing.
    return float(np.float32(value))


def _miri_bands() -> dict[tuple[str, str], BandPars]:
    bands = {}
    for i, (channel, band) in enumerate((c, b) for c in "1234" for b in _MIRI_BANDS):
        spaxel, step, rois = _MIRI_SPAXEL[channel], _MIRI_STEP[channel], _MIRI_ROIS[channel]
        bands[(channel, band)] = BandPars(
            _f32(_MIRI_WMIN[i]), _f32(_MIRI_WMAX[i]), _f32(spaxel), step,
            msm=(_f32(rois), _f32(step), 2.0, _f32(0.01)),
            emsm=(_f32(rois), _f32(step), _f32(spaxel)))
    return bands


def _nirspec_bands() -> dict[tuple[str, str], BandPars]:
    return {key: BandPars(_f32(lo), _f32(hi), _f32(0.1), _f32(step),
                          msm=(_f32(0.1), _f32(2 * step), 2.0, _f32(0.01)),
                          emsm=(_f32(0.1), _f32(2 * step), _f32(0.1)))
            for key, (lo, hi, step) in _NIRSPEC.items()}


def _wave_table(lo: float, hi: float, resolution: float, rois: tuple[float, float]
                ) -> dict[str, Mapping[str, np.ndarray]]:
    wave = np.exp(np.arange(np.log(lo), np.log(hi), 1.0 / resolution))
    sroi = np.interp(wave, [lo, hi], rois).astype(np.float32)
    wroi = (wave / resolution).astype(np.float32)
    ones = np.ones(wave.size, dtype=np.float32)
    return {
        "msm": MappingProxyType({"wavelength": wave, "roispatial": sroi, "roispectral": wroi,
                                 "power": 2 * ones, "softrad": 0.01 * ones}),
        "emsm": MappingProxyType({"wavelength": wave, "roispatial": sroi, "roispectral": wroi,
                                  "scalerad": sroi}),
        "driz": MappingProxyType({"wavelength": wave}),
    }


def default_cubepar(instrument: str) -> CubePars:
    """Return the built-in cube parameters of `instrument`.

    Parameters
    ----------
    instrument : str
        ``MIRI`` or ``NIRSPEC``.

    Returns
    -------
    CubePars
        Parameters of every band and the multi-band wavelength tables.
    """
    if instrument.upper() == "MIRI":
        tables = {f"multichannel_{k}": v
                  for k, v in _wave_table(4.88, 28.5, 3500.0, (0.1, 0.4)).items()}
        return CubePars("MIRI", MappingProxyType(_miri_bands()), MappingProxyType(tables),
                        SOURCE)
    tables = {}
    for name, (lo, hi, res) in {"prism": (0.6, 5.3, 100.0), "med": (0.7, 5.27, 1000.0),
                                "high": (0.7, 5.27, 2700.0)}.items():
        tables.update({f"{name}_{k}": v
                       for k, v in _wave_table(lo, hi, res, (0.1, 0.15)).items()})
    return CubePars("NIRSPEC", MappingProxyType(_nirspec_bands()), MappingProxyType(tables),
                    SOURCE)
