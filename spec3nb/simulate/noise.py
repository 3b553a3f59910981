"""Detector noise, defects and cosmic rays for simulated Stage-2 products.

The noise model is the one the JWST ramp fit reports: Poisson variance of the collected
charge and read-noise variance of an up-the-ramp slope, both divided into the calibrated
units through the photometric conversion, plus a flat-field term. ``ERR`` is the square
root of their sum, so simulated files are self-consistent the way real ``_cal`` files are.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spec3nb.datamodels.dq import DO_NOT_USE, HOT, JUMP_DET, NON_SCIENCE


@dataclasses.dataclass(frozen=True)
class Detector:
    """Noise properties of one detector read-out.

    Parameters
    ----------
    read_noise : float
        Read noise per frame, electrons.
    gain : float
        Electrons per DN.
    ngroups : int
        Groups in the ramp.
    group_time : float
        Seconds per group.
    photmjsr : float
        Calibrated surface brightness (MJy/sr) per DN/s.
    flat_error : float
        Relative flat-field uncertainty.
    """

    read_noise: float = 12.0
    gain: float = 1.5
    ngroups: int = 20
    group_time: float = 10.737
    photmjsr: float = 0.05
    flat_error: float = 0.005

    @property
    def exposure_time(self) -> float:
        """Effective exposure time of one integration (s)."""
        return (self.ngroups - 1) * self.group_time


def observe(
    rng: np.random.Generator, signal: np.ndarray, detector: Detector
) -> dict[str, np.ndarray]:
    """Return noisy science arrays for a noiseless surface-brightness image.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    signal : numpy.ndarray
        Noiseless surface brightness (MJy/sr, background included); NaN where no light falls.
    detector : Detector
        Read-out and calibration properties.

    Returns
    -------
    dict[str, numpy.ndarray]
        ``data``, ``err``, ``var_poisson``, ``var_rnoise``, ``var_flat`` (float32) and ``dq``
        (uint32, ``NON_SCIENCE | DO_NOT_USE`` where `signal` is NaN).
    """
    valid = np.isfinite(signal)
    sb = np.where(valid, signal, 0.0)
    rate_dn = np.clip(sb / detector.photmjsr, 0.0, None)  # DN/s
    t = detector.exposure_time
    var_poisson_dn = rate_dn / (detector.gain * t)
    n = detector.ngroups
    rn_dn = detector.read_noise / detector.gain
    var_rnoise_dn = 12.0 * rn_dn**2 / (n * (n * n - 1) * detector.group_time**2)
    conv2 = detector.photmjsr**2
    var_poisson = var_poisson_dn * conv2
    var_rnoise = np.full(sb.shape, var_rnoise_dn * conv2)
    var_flat = (detector.flat_error * sb) ** 2
    total = var_poisson + var_rnoise + var_flat
    data = sb + rng.standard_normal(sb.shape) * np.sqrt(total)
    dq = np.where(valid, 0, NON_SCIENCE | DO_NOT_USE).astype(np.uint32)
    arrays = {
        "data": data, "err": np.sqrt(total), "var_poisson": var_poisson,
        "var_rnoise": var_rnoise, "var_flat": var_flat,
    }
    out = {k: np.where(valid, v, np.nan).astype(np.float32) for k, v in arrays.items()}
    out["dq"] = dq
    return out


def add_bad_pixels(
    rng: np.random.Generator, arrays: dict[str, np.ndarray], fraction: float = 2e-4
) -> np.ndarray:
    """Flag hot pixels as real ``_cal`` files do: ``HOT | DO_NOT_USE`` and NaN values.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    arrays : dict[str, numpy.ndarray]
        Arrays from :func:`observe`, changed in place (they are the simulator's own).
    fraction : float
        Fraction of science pixels made hot.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` array of the ``(y, x)`` of the flagged pixels.
    """
    good = np.argwhere(arrays["dq"] == 0)
    count = min(len(good), max(1, int(round(fraction * arrays["dq"].size))))
    chosen = good[rng.choice(len(good), size=count, replace=False)]
    ys, xs = chosen[:, 0], chosen[:, 1]
    arrays["dq"][ys, xs] |= np.uint32(HOT | DO_NOT_USE)
    for key in ("data", "err", "var_poisson", "var_rnoise", "var_flat"):
        arrays[key][ys, xs] = np.nan
    return chosen


def add_cosmic_rays(
    rng: np.random.Generator,
    arrays: dict[str, np.ndarray],
    count: int,
    *,
    strength: tuple[float, float] = (30.0, 300.0),
    flag_fraction: float = 0.0,
) -> np.ndarray:
    """Add cosmic-ray hits that the ramp fit missed (the outliers Stage 3 must find).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    arrays : dict[str, numpy.ndarray]
        Arrays from :func:`observe`, changed in place.
    count : int
        Number of hits.
    strength : tuple[float, float]
        Range of the hits' amplitude in units of the local ``err``.
    flag_fraction : float
        Fraction of hits already flagged ``JUMP_DET`` (a flag Stage 3 ignores).

    Returns
    -------
    numpy.ndarray
        ``(count, 2)`` array of the ``(y, x)`` of the hits.
    """
    good = np.argwhere((arrays["dq"] & DO_NOT_USE) == 0)
    count = min(count, len(good))
    chosen = good[rng.choice(len(good), size=count, replace=False)]
    ys, xs = chosen[:, 0], chosen[:, 1]
    amplitude = rng.uniform(*strength, size=count) * arrays["err"][ys, xs]
    arrays["data"][ys, xs] += amplitude.astype(np.float32)
    flagged = rng.random(count) < flag_fraction
    arrays["dq"][ys[flagged], xs[flagged]] |= np.uint32(JUMP_DET)
    return chosen
