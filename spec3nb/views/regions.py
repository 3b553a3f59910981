"""Where extract_1d's background regions lie on an s2d, for drawing them.

jwst 3.0.0 records the extraction aperture on the x1d (``extraction_xstart`` ...) but not the
background regions. They come from the EXTRACT1D reference's ``bkg_coeff`` (pairs of
lower/upper polynomial edges across the dispersion) and move with the aperture: jwst shifts
them by the source-position correction (``use_source_posn``) and by ``position_offset``. No
step parameter sets them on their own; ``subtract_background`` says whether they are used.

So the view places them with extract_1d's own code (parameter resolution and aperture
placement from :mod:`spec3nb.steps`, imported on first use so that importing the views stays
light): what is drawn is exactly what the step used.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np

#: The extract_1d parameters that decide the regions (with the reference file).
SETTINGS = ("smoothing_length", "bkg_fit", "bkg_order", "subtract_background",
            "use_source_posn", "position_offset")
# Loading the reference for every redraw is wasteful: keep the last one per path.
_CACHE_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Regions:
    """The background regions of one slit, as curves along the dispersion.

    Parameters
    ----------
    along : numpy.ndarray
        Dispersion pixel coordinates (0-based) where the edges are given.
    edges : numpy.ndarray
        ``(2 * nregions, len(along))``: lower and upper edge of each region, in pixel
        coordinates across the dispersion (pixel centres are integers, so an edge at
        ``k - 0.5`` is the lower border of pixel ``k``).
    dispaxis : int
        1 when the dispersion runs along x (the regions span rows), 2 along y.
    used : bool
        Whether extract_1d subtracts them (``subtract_background``).
    """

    along: np.ndarray
    edges: np.ndarray
    dispaxis: int
    used: bool

    @property
    def count(self) -> int:
        """Number of regions."""
        return self.edges.shape[0] // 2

    @property
    def span(self) -> tuple[float, float]:
        """Lowest and highest edge at the middle of the dispersion range (the drag handle)."""
        middle = self.edges[:, self.edges.shape[1] // 2]
        return float(np.min(middle)), float(np.max(middle))


def _polynomial(coeffs: Any, t: np.ndarray) -> np.ndarray:
    # Same evaluation order as the step's (Horner, constant first in the list).
    value = np.full(np.shape(t), float(coeffs[-1]))
    for c in coeffs[-2::-1]:
        value = float(c) + value * t
    return value


class ReferenceCache:
    """The last loaded EXTRACT1D reference, reloaded when the path or file changes."""

    def __init__(self) -> None:
        self.key: tuple[str, float] | None = None
        self.value: Any = None

    def get(self, path: str | None) -> Any:
        from pathlib import Path

        from spec3nb.datamodels.references import load_reference

        if path is None:
            return None
        try:
            key = (str(path), Path(path).stat().st_mtime)
        except OSError:
            key = (str(path), -1.0)
        with _CACHE_LOCK:
            if key != self.key:
                self.value, self.key = load_reference("extract1d", path), key
            return self.value


def _slit_of(product: Any, part: Any) -> Any:
    from spec3nb.steps.extract1d import slits_of

    return next((s for s in slits_of(product, product.filename or "s2d") if s.part is part),
                None)


def background_regions(product: Any, part: Any, node: Any,
                       cache: ReferenceCache | None = None) -> Regions | None:
    """The background regions extract_1d uses (or would use) on one s2d slit.

    Parameters
    ----------
    product : Product
        The s2d product.
    part : Part
        Its slit shown by the view.
    node : Node
        extract_1d: its parameters and ``override_extract1d`` decide the regions.
    cache : optional
        Keeps the loaded reference between calls.

    Returns
    -------
    Regions or None
        None when the reference defines no background regions for this slit, or the slit
        cannot be extracted (the step reports why; the view only draws).
    """
    from spec3nb.steps import extract1d as step

    reference = (cache or ReferenceCache()).get(getattr(node, "override_extract1d", None))
    if reference is None or reference == step.NOT_APPLICABLE:
        return None  # without a reference jwst subtracts no background
    slit = _slit_of(product, part)
    if slit is None or part.data.ndim != 2 or part.wcs is None:
        return None
    try:
        return _place(step, slit, product, node, reference)
    except Exception:  # whatever the step would raise, it shows on its own node
        return None


def _place(step: Any, slit: Any, product: Any, node: Any, reference: Any) -> Regions | None:
    reference = step.with_extract_width(reference, getattr(node, "extract_width", None))
    settings = {name: getattr(node, name) for name in SETTINGS}
    aperture = step.slit_aperture(slit, product, settings, reference)
    if isinstance(aperture, str) or aperture.params.bkg_coeff is None:
        return None
    placed = aperture.params
    wave = step.slit_wavelengths(slit)
    along = np.arange(slit.part.data.shape[-1 if placed.dispaxis == 1 else -2], dtype=float)
    if placed.independent_var.startswith("wavelength"):
        axis = 0 if placed.dispaxis == 1 else 1
        with np.errstate(all="ignore"):
            t = np.nanmean(np.where(np.isfinite(wave), wave, np.nan), axis=axis)
    else:
        t = along
    edges = np.array([_polynomial(c, t) for c in placed.bkg_coeff])
    # Only the dispersion range extract_1d uses (xstart..xstop for horizontal dispersion).
    low, high = ((placed.xstart, placed.xstop) if placed.dispaxis == 1
                 else (placed.ystart, placed.ystop))
    keep = (along >= np.ceil(low)) & (along <= np.floor(high)) & np.all(np.isfinite(edges), 0)
    if not keep.any():
        return None
    return Regions(along[keep], edges[:, keep], int(placed.dispaxis),
                   bool(placed.subtract_background))
