"""The output wavelength grid of combine_1d (jwst 3.0.0's ``count_input`` and
``compute_output_wl``, reference section 3.12 step 3).

The sorted union of the input wavelengths clumps into groups of about as many values as
there are overlapping spectra; each clump becomes one output wavelength (its mean), and
stretches where no clump stands out are filled with block means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# A window is a clump when its spread is below this fraction of its neighbours' mean spread.
_CLUMP_CUTOFF = 0.8


def coverage(wavelengths: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted union of the wavelengths and how many spectra cover each value.

    A spectrum covers from half a pixel before its first wavelength to half a pixel after
    its last (end excluded). Spectra of fewer than two points, and spectra whose first two
    wavelengths are equal, cover nothing.

    Parameters
    ----------
    wavelengths : Sequence[numpy.ndarray]
        The wavelength arrays of the input spectra.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The sorted wavelengths and the number of covering spectra (int64) of each.

    Raises
    ------
    RuntimeError
        If some wavelength is covered by no spectrum.
    """
    usable = [np.asarray(w, dtype=float) for w in wavelengths if len(w) > 1]
    wl = np.sort(np.concatenate(usable[::-1]))
    count = np.zeros(len(wl), dtype=np.int64)
    for w in usable:
        if w[1] > w[0]:
            lo, hi = w[0] - 0.5 * (w[1] - w[0]), w[-1] + 0.5 * (w[-1] - w[-2])
        elif w[1] < w[0]:
            lo, hi = w[-1] - 0.5 * (w[-2] - w[-1]), w[0] + 0.5 * (w[0] - w[1])
        else:
            continue
        count += (wl >= lo) & (wl < hi)
    if np.any(count <= 0):
        raise RuntimeError("combine_1d: some input wavelengths are covered by no spectrum")
    return wl, count


def _window_stats(wl: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spread and mean of the window of `count[k]` values around each `wl[k]`."""
    nwl = len(wl)
    sigma = np.full(nwl, 9999.0)
    mean = np.full(nwl, -99.0)
    single = count == 1
    sigma[single], mean[single] = 0.0, wl[single]
    for n in np.unique(count[count > 1]):
        ks = np.flatnonzero(count == n)
        stop = ks + n // 2 + 1
        start = stop - n
        inside = (start >= 0) & (stop <= nwl)
        ks, start = ks[inside], start[inside]
        if ks.size:
            windows = sliding_window_view(wl, int(n))[start]
            mean[ks] = windows.mean(axis=1)
            sigma[ks] = windows.std(axis=1)
    return sigma, mean


def _clump_centres(sigma: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Candidate output wavelengths: window means where the spread is zero or a local dip."""
    nwl = len(sigma)
    candidate = np.full(nwl, -99.0)
    candidate[sigma == 0.0] = mean[sigma == 0.0]
    if nwl == 1:
        return candidate
    neighbours = np.empty(nwl)
    neighbours[0], neighbours[-1] = sigma[1], sigma[-2]
    neighbours[1:-1] = 0.5 * (sigma[:-2] + sigma[2:])
    dip = (sigma > 0.0) & (sigma < _CLUMP_CUTOFF * neighbours)
    candidate[dip] = mean[dip]
    return candidate


def _fill_gaps(wl: np.ndarray, count: np.ndarray, candidate: np.ndarray) -> None:
    """Put block means where no clump was found, walking the union in steps of `count`.

    The walk advances by the local number of overlapping spectra, so it visits about one
    position per output wavelength; each step depends on the previous one.
    """
    nwl = len(wl)
    i = 0
    while i < nwl:
        n = int(count[i])
        if i + n // 2 < nwl:
            n = int(count[i + n // 2])
            if i + n < nwl:
                low, high = max(i - 1, 0), min(i + n + 1, nwl - 1)
                if candidate[low:high].max() <= 0.0:
                    candidate[i] = wl[i:i + n].mean()
        i += n


def output_wavelengths(wavelengths: Sequence[np.ndarray]) -> np.ndarray:
    """Return the output wavelength grid for a set of input spectra.

    Parameters
    ----------
    wavelengths : Sequence[numpy.ndarray]
        The wavelength arrays of the input spectra of one spectral order.

    Returns
    -------
    numpy.ndarray
        Increasing output wavelengths.
    """
    wl, count = coverage(wavelengths)
    sigma, mean = _window_stats(wl, count)
    candidate = _clump_centres(sigma, mean)
    _fill_gaps(wl, count, candidate)
    return np.sort(candidate[candidate > 0.0])
