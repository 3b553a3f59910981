"""True spectra of simulated sources and backgrounds.

A source is a smooth continuum (a power law times a gentle curvature) with a few emission
and absorption lines of known width; a background is a smooth, slowly rising continuum (the
zodiacal light and telescope thermal emission of the real sky, in shape). Both are tabulated
finely on the mode's wavelength range and interpolated where the simulator needs them.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """A tabulated spectrum.

    Parameters
    ----------
    wavelength : numpy.ndarray
        Wavelengths (micron), increasing.
    value : numpy.ndarray
        Flux density (mJy) for point sources, surface brightness (MJy/sr) for extended
        sources and backgrounds.
    unit : str
        The unit of `value`.
    """

    wavelength: np.ndarray
    value: np.ndarray
    unit: str

    def __call__(self, wavelength: np.ndarray) -> np.ndarray:
        """Interpolate at `wavelength` (NaN outside the tabulated range)."""
        wl = np.asarray(wavelength, dtype=float)
        return np.interp(wl, self.wavelength, self.value, left=np.nan, right=np.nan)


def source_spectrum(
    rng: np.random.Generator,
    wave_range: tuple[float, float],
    *,
    level: float,
    unit: str = "mJy",
    nlines: int = 3,
    samples: int = 4000,
) -> Spectrum:
    """Draw a source spectrum: continuum plus a few resolved lines.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    wave_range : tuple[float, float]
        Wavelength range (micron).
    level : float
        Continuum level at the middle of the range, in `unit`.
    unit : str
        ``mJy`` (point source) or ``MJy/sr`` (extended source).
    nlines : int
        Number of lines (about two in three in emission).
    samples : int
        Tabulation points.

    Returns
    -------
    Spectrum
        The true spectrum.
    """
    lo, hi = wave_range
    wl = np.linspace(lo, hi, samples)
    mid = 0.5 * (lo + hi)
    slope = rng.uniform(-1.5, 1.0)
    curve = rng.uniform(-0.2, 0.2)
    x = (wl - mid) / (hi - lo)
    value = level * (wl / mid) ** slope * (1.0 + curve * x**2)
    for _ in range(nlines):
        centre = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo))
        width = (hi - lo) * rng.uniform(0.004, 0.01)
        strength = rng.uniform(0.5, 2.0) * (1 if rng.random() < 0.67 else -0.4)
        value = value * (1.0 + strength * np.exp(-0.5 * ((wl - centre) / width) ** 2))
    return Spectrum(wl, value, unit)


def background_spectrum(
    wave_range: tuple[float, float], *, level: float, samples: int = 2000
) -> Spectrum:
    """Return a smooth sky background (MJy/sr) rising to the red like thermal emission.

    Parameters
    ----------
    wave_range : tuple[float, float]
        Wavelength range (micron).
    level : float
        Surface brightness at the middle of the range (MJy/sr).
    samples : int
        Tabulation points.

    Returns
    -------
    Spectrum
        The background.
    """
    lo, hi = wave_range
    wl = np.linspace(lo, hi, samples)
    mid = 0.5 * (lo + hi)
    return Spectrum(wl, level * (wl / mid) ** 1.5, "MJy/sr")
