"""NIRISS single-object slitless spectroscopy (SOSS, not TSO) as calwebb_spec2 leaves it.

Each exposure is a ``CubeModel`` (``nints`` integrations) of the ``SUBSTRIP256`` subarray
with GR700XD and CLEAR: order 1 (about 0.85-2.83 micron) and order 2 (about 0.60-1.42
micron) on curved traces, dispersion along x (``DISPAXIS = 1``), wavelength decreasing
with x, order 2 above order 1 and ending before the right edge, as on the detector. The
data are in DN/s (SOSS photometric calibration is applied to the extracted spectra in
Stage 3), background-subtracted. The gWCS takes ``(x, y, spectral_order)`` to (RA, Dec,
wavelength) as the pipeline's does.

The ``small`` size is the same layout scaled down (512 columns, 96 rows, a narrower
trace); ``full`` is the real 256 x 2048 subarray.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import astropy.units as u
import numpy as np
from astropy.modeling import bind_bounding_box, models
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import Part, Product
from spec3nb.simulate import slitless_common as common
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset, exposure_filename
from spec3nb.simulate.noise import Detector, add_bad_pixels, add_cosmic_rays
from spec3nb.simulate.spectra import Spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth
from spec3nb.simulate.wcs import world_frame

#: Wavelength (micron) against u = x / width: coefficients of 1, u, u**2, by order.
WAVE_COEFFS = {1: (2.83, -2.10, 0.12), 2: (1.42, -0.82 / 0.855, 0.0)}
#: Fraction of the width covered by each order (order 2 falls off beyond it).
U_END = {1: 1.0, 2: 0.855}
#: Relative throughput of the orders at their peaks.
THROUGHPUT = {1: 1.0, 2: 0.35}


@dataclasses.dataclass(frozen=True)
class SossLayout:
    """Detector layout of one size.

    Parameters
    ----------
    nx, ny : int
        Columns and rows.
    nints : int
        Integrations per exposure.
    horn_offset, horn_sigma : float
        The SOSS profile is two Gaussians ("horns") at +-`horn_offset` rows from the trace
        centre, each of width `horn_sigma` (rows).
    box_width : float
        Box width (rows) that holds all of a trace's light (``soss_width`` for full).
    rate_per_mjy : float
        Count rate (DN/s) in one full-size column from 1 mJy at the peak of order 1.
    """

    nx: int
    ny: int
    nints: int
    horn_offset: float
    horn_sigma: float
    box_width: float
    rate_per_mjy: float = 100.0

    @property
    def yscale(self) -> float:
        """Rows of this layout per row of the real subarray."""
        return self.ny / 256.0


LAYOUTS = {"small": SossLayout(512, 96, 1, 2.0, 1.5, 16.0),
           "full": SossLayout(2048, 256, 3, 5.0, 4.0, 40.0)}


def trace_y(order: int, u_: np.ndarray, layout: SossLayout) -> np.ndarray:
    """Row of the trace centre of `order` at fractional column ``u = x / nx``."""
    if order == 1:
        y = 82.0 - 28.0 * u_ - 22.0 * u_**2
    else:
        v = u_ / U_END[2]
        y = 100.0 + 40.0 * v + 80.0 * v**3
    return (y + 0.5) * layout.yscale - 0.5


def trace_wavelength(order: int, u_: np.ndarray) -> np.ndarray:
    """Wavelength (micron) of `order` at fractional column ``u`` (NaN where it is off)."""
    c0, c1, c2 = WAVE_COEFFS[order]
    u_ = np.asarray(u_, dtype=float)
    return np.where(u_ <= U_END[order], c0 + c1 * u_ + c2 * u_**2, np.nan)


def response(order: int, wavelength: np.ndarray) -> np.ndarray:
    """Relative response of `order` (a smooth bell; zero where `wavelength` is NaN)."""
    peak, width = (1.3, 0.9) if order == 1 else (0.85, 0.35)
    wl = np.nan_to_num(np.asarray(wavelength, dtype=float), nan=-100.0)
    return THROUGHPUT[order] * np.exp(-0.5 * ((wl - peak) / width) ** 2)


def traces(layout: SossLayout) -> dict[int, dict[str, np.ndarray]]:
    """Trace centre row and wavelength of every column, by order (NaN where off)."""
    u_ = (np.arange(layout.nx) + 0.5) / layout.nx
    out = {}
    for order in (1, 2):
        wave = trace_wavelength(order, u_)
        out[order] = {"y": np.where(np.isfinite(wave), trace_y(order, u_, layout), np.nan),
                      "wavelength": wave}
    return out


def render(layout: SossLayout, spectrum: Spectrum) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Noiseless count rate (DN/s) of the source, and each order's calibration.

    Parameters
    ----------
    layout : SossLayout
        The detector layout.
    spectrum : Spectrum
        The source's flux density (mJy).

    Returns
    -------
    tuple
        ``(ny, nx)`` count rate, and by order the ``(nx,)`` conversion (mJy per DN/s of a
        column's total count rate; NaN where the order is off).
    """
    image = np.zeros((layout.ny, layout.nx))
    conversions = {}
    column_width = 2048.0 / layout.nx  # full-size columns per column
    for order, trace in traces(layout).items():
        wave, centre = trace["wavelength"], trace["y"]
        on = np.isfinite(wave)
        per_mjy = layout.rate_per_mjy * column_width * response(order, wave) / order
        flux = np.where(on, spectrum(np.where(on, wave, 1.0)), 0.0)
        rows = 0.5 * sum(common.cross_profile(np.where(on, centre + s, -99.0),
                                              layout.horn_sigma, layout.ny)
                         for s in (-layout.horn_offset, layout.horn_offset))
        image += rows * (flux * per_mjy)[None, :]
        conversions[order] = np.where(on, 1.0 / np.where(on, per_mjy, 1.0), np.nan)
    return image, conversions


def _order_wavelength(layout: SossLayout) -> models.Model:
    """(x, spectral_order) -> wavelength: each order's polynomial, selected arithmetically."""
    def poly(order: int) -> models.Model:
        c0, c1, c2 = WAVE_COEFFS[order]
        return (models.Mapping((0,), n_inputs=2) | models.Shift(0.5)
                | models.Scale(1.0 / layout.nx)  # u = (x + 0.5) / nx
                | models.Polynomial1D(2, c0=c0, c1=c1, c2=c2))

    weight1 = models.Mapping((1,), n_inputs=2) | models.Shift(-2.0) | models.Scale(-1.0)
    weight2 = models.Mapping((1,), n_inputs=2) | models.Shift(-1.0)
    return poly(1) * weight1 + poly(2) * weight2


def soss_wcs(layout: SossLayout, ra: float, dec: float) -> gwcs_wcs.WCS:
    """The SOSS gWCS: ``detector -> world`` for orders 1 and 2.

    The pipeline's SOSS WCS (``assign_wcs``) is a ``NirissSOSSModel`` taking
    ``(x, y, spectral_order)``; that model has no parameters, so astropy reports it as
    using quantities and gwcs 1.0 gives it pixel quantities that its order transforms
    cannot add. The same mapping is built here from standard astropy models: every pixel
    maps to the target's RA and Dec, and the wavelength depends on x and the order.

    Parameters
    ----------
    layout : SossLayout
        The detector layout.
    ra, dec : float
        Target position.

    Returns
    -------
    gwcs.WCS
        Inputs ``(x, y, spectral_order)``; outputs (RA, Dec, wavelength); bounding box the
        subarray and orders 1-2.
    """
    transform = (models.Mapping((0, 1, 0, 2)) | models.Const1D(ra) & models.Const1D(dec)
                 & _order_wavelength(layout)).rename("SOSS orders 1-2")
    bind_bounding_box(transform, ((-0.5, layout.nx - 0.5), (-0.5, layout.ny - 0.5),
                                  (0.5, 2.5)), order="F")
    detector = cf.CoordinateFrame(
        naxes=3, axes_type=("SPATIAL", "SPATIAL", "SPECTRAL"), axes_order=(0, 1, 2),
        unit=(u.pix, u.pix, u.one), axes_names=("x", "y", "spectral_order"), name="detector")
    return gwcs_wcs.WCS([(detector, transform), (world_frame(), None)])


# ----------------------------------------------------------------------------- products

#: SUBSTRIP256 read-out: NISRAPID frames of 5.494 s.
SOSS_DETECTOR = Detector(read_noise=16.0, gain=1.6, ngroups=10, group_time=5.494)


def int_times(nints: int, start: float, duration: float) -> np.ndarray:
    """The ``INT_TIMES`` table of an exposure (MJD UTC and BJD TDB of each integration).

    Parameters
    ----------
    nints : int
        Number of integrations.
    start : float
        Exposure start (MJD).
    duration : float
        Duration of one integration (s).

    Returns
    -------
    numpy.ndarray
        Structured array with the columns of ``int_times.schema``.
    """
    names = ("int_start_MJD_UTC", "int_mid_MJD_UTC", "int_end_MJD_UTC",
             "int_start_BJD_TDB", "int_mid_BJD_TDB", "int_end_BJD_TDB")
    table = np.zeros(nints, dtype=[("integration_number", "i4")] + [(n, "f8") for n in names])
    table["integration_number"] = np.arange(1, nints + 1)
    begin = start + np.arange(nints) * duration / 86400.0
    offsets = (0.0, 0.5, 1.0)
    for j, name in enumerate(names):
        tdb = 0.0008 if j >= 3 else 0.0  # barycentric correction, days
        table[name] = begin + offsets[j % 3] * duration / 86400.0 + tdb
    return table


def background_rate(layout: SossLayout) -> np.ndarray:
    """Sky background (DN/s per pixel): a gentle gradient along the dispersion."""
    x = (np.arange(layout.nx) + 0.5) / layout.nx
    return np.broadcast_to(0.8 * (1.0 + 0.3 * x)[None, :], (layout.ny, layout.nx))


def _integrations(rng: np.random.Generator, rate: np.ndarray, layout: SossLayout,
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Observe every integration; hot pixels are the same in all, cosmic rays are not.

    Returns the ``(nints, ny, nx)`` arrays and the truth rows ``(integration, y, x)`` of
    the cosmic rays and of the hot pixels.
    """
    bkg = background_rate(layout)
    cube = [common.noisy_arrays(rng, rate + bkg, SOSS_DETECTOR, 1.0, bkg)
            for _ in range(layout.nints)]
    arrays = {key: np.stack([c[key] for c in cube]) for key in cube[0]}
    views = [{key: value[i] for key, value in arrays.items()} for i in range(layout.nints)]
    hot = add_bad_pixels(rng, views[0])
    ys, xs = hot[:, 0], hot[:, 1]
    for key in ("data", "err", "var_poisson", "var_rnoise", "var_flat"):
        arrays[key][:, ys, xs] = np.nan
    arrays["dq"][:, ys, xs] |= arrays["dq"][0, ys, xs]
    outliers = []
    for i, view in enumerate(views):
        count = int(rng.poisson(4e-4 * rate.size))
        hits = add_cosmic_rays(rng, view, count) if count else np.empty((0, 2), int)
        outliers.append(common.with_part(hits, i))
    bad = common.stack_rows([common.with_part(hot, i) for i in range(layout.nints)])
    return arrays, common.stack_rows(outliers), bad


def _exposure_meta(config: SimConfig, layout: SossLayout, index: int,
                   pointing: common.Pointing) -> dict[str, Any]:
    instrument = {"name": "NIRISS", "detector": "NIS", "filter": "CLEAR", "pupil": "GR700XD",
                  "pupil_position": 245.79, "filter_position": 0.0}
    subarray = {"name": "SUBSTRIP256", "xstart": 1, "ystart": 1793, "xsize": layout.nx,
                "ysize": layout.ny, "fastaxis": -2, "slowaxis": -1}
    meta = common.exposure_meta(config, index, pointing, instrument=instrument,
                                exp_type="NIS_SOSS", detector=SOSS_DETECTOR,
                                nints=layout.nints, subarray=subarray)
    meta["exposure"].update(readpatt="NISRAPID", integration_start=1,
                            integration_end=layout.nints, segment_number=1)
    meta["target"].update(proposer_name="SIM-STAR", catalog_name="SIM-STAR",
                          source_type="POINT")
    meta["wcsinfo"].update(dispersion_direction=1, specsys="BARYCENT", spectral_order=1)
    meta["photometry"] = common.pixel_area(0.0656)
    meta["cal_step"] = {step: "COMPLETE" for step in (
        "assign_wcs", "bkg_subtract", "flat_field", "srctype", "dark_sub", "linearity",
        "ramp_fit", "jump", "superbias", "refpix")}
    meta["bunit_data"], meta["bunit_err"] = "DN/s", "DN/s"
    return meta


def _exposure(rng: np.random.Generator, config: SimConfig, layout: SossLayout, index: int,
              pointing: common.Pointing, rate: np.ndarray) -> tuple[Product, ExposureTruth]:
    arrays, outliers, bad = _integrations(rng, rate, layout)
    meta = _exposure_meta(config, layout, index, pointing)
    filename = exposure_filename(common.PROGRAM, 1, index + 1, "nis")
    meta["filename"] = filename
    start = meta["exposure"]["start_time"]
    arrays["int_times"] = int_times(layout.nints, start, meta["exposure"]["integration_time"])
    target = (meta["target"]["ra"], meta["target"]["dec"])
    part = Part(arrays=arrays, wcs=soss_wcs(layout, *target))
    background = float(background_rate(layout).mean())
    truth = ExposureTruth(filename, pointing.offset, background, outliers, bad)
    return Product("CubeModel", meta, [part]), truth


def _truth_extra(layout: SossLayout, conversions: dict[int, np.ndarray]) -> dict[str, Any]:
    """Trace centres, wavelengths and calibration by order, and how to read them."""
    orders = {}
    for order, trace in traces(layout).items():
        on = np.isfinite(trace["wavelength"])
        orders[str(order)] = {
            "x": np.flatnonzero(on), "y": trace["y"][on],
            "wavelength": trace["wavelength"][on],
            "mjy_per_dn_s": conversions[order][on]}
    return {
        "orders": orders, "box_width": layout.box_width, "units_data": "DN/s",
        "note": "the cal data are DN/s and background-subtracted (the exposure background "
                "is the mean rate removed, DN/s); a box of box_width rows centred on y "
                "summed per column, times mjy_per_dn_s, gives the flux density in mJy; "
                "outliers and bad_pixels rows are (integration, y, x)",
    }


def simulate_soss(config: SimConfig) -> SimulatedDataset:
    """Simulate a NIRISS SOSS Stage-3 input set.

    Parameters
    ----------
    config : SimConfig
        Size, seed, number of exposures (default 2), moving target.

    Returns
    -------
    SimulatedDataset
        One ``CubeModel`` per exposure and the truth: the star's spectrum (mJy), and in
        ``extra`` each order's trace (row per column), wavelengths and calibration.
    """
    rng = config.rng()
    layout = LAYOUTS[config.size]
    nexp = config.nexp or 2
    pointings = common.dither_pointings(nexp, 0.0, 0.0656, (0.0, 0.0))
    spectrum = source_spectrum(rng, (0.55, 2.9), level=30.0, unit="mJy", nlines=4)
    rate, conversions = render(layout, spectrum)
    exposures, truths = [], []
    for index, pointing in enumerate(pointings):
        product, truth = _exposure(rng, config, layout, index, pointing, rate)
        exposures.append(product)
        truths.append(truth)
    first = exposures[0].meta["target"]
    star = SourceTruth(1, first["ra"], first["dec"], "POINT", spectrum, name="SIM-STAR",
                       extra=_truth_extra(layout, conversions))
    truth = Truth(config.mode, config.seed, config.size, (star,), tuple(truths))
    name = common.product_name("niriss", "clear", "gr700xd", "substrip256")
    return SimulatedDataset(config, name, tuple(exposures), truth, program=common.PROGRAM,
                            asn_id=common.ASN_ID, target=common.TARGET,
                            references={SOSSTRACE_FILE: trace_reference(layout)})


#: File name of the trace reference written beside simulated SOSS data.
SOSSTRACE_FILE = "nis_soss_sosstrace.json"


def trace_reference(layout: SossLayout) -> bytes:
    """The spec3nb SOSS trace reference (``sosstrace``) of the simulated layout.

    Parameters
    ----------
    layout : SossLayout
        The simulated geometry.

    Returns
    -------
    bytes
        JSON: for each order, the trace row and the wavelength of each column.
    """
    orders = {}
    for order, trace in traces(layout).items():
        on = np.isfinite(trace["wavelength"])
        orders[str(order)] = {"x": np.flatnonzero(on).tolist(), "y": trace["y"][on].tolist(),
                              "wavelength": trace["wavelength"][on].tolist()}
    document = {"reftype": "SOSSTRACE", "description": "spec3nb simulated SOSS traces",
                "orders": orders}
    return json.dumps(document).encode()
