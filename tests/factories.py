"""Synthetic spec3nb products for tests: analytic gWCSs and product builders (no files).

Every WCS is made of astropy.modeling pieces with an explicit inverse and a bounding box
equal to the array extent, which is what the official jwst steps read in place of an
``assign_wcs`` result. Every builder returns a :class:`~spec3nb.datamodels.Product` with
realistic metadata (telescope, instrument, exposure type, target, units, pixel area ...),
deterministic values (a seeded generator) and optional overrides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS
from astropy.modeling import models as m
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import Part, Product, tables
from spec3nb.datamodels import meta as metatools

RA0, DEC0 = 53.16, -27.78
ARCSEC = 1.0 / 3600.0

#: Instrument set-ups by exposure type: (instrument, detector, filter, grating or pupil).
SETUPS: Mapping[str, tuple[str, str, str, str | None]] = {
    "NRS_FIXEDSLIT": ("NIRSPEC", "NRS1", "F290LP", "G395H"),
    "NRS_MSASPEC": ("NIRSPEC", "NRS1", "F170LP", "G235M"),
    "NRS_IFU": ("NIRSPEC", "NRS1", "F290LP", "G395H"),
    "MIR_LRS-FIXEDSLIT": ("MIRI", "MIRIMAGE", "P750L", None),
    "MIR_MRS": ("MIRI", "MIRIFUSHORT", None, None),
    "NIS_WFSS": ("NIRISS", "NIS", "GR150R", "F150W"),
    "NRC_WFSS": ("NIRCAM", "NRCALONG", "F444W", "GRISMR"),
    "NIS_SOSS": ("NIRISS", "NIS", "CLEAR", "GR700XD"),
}


# ----------------------------------------------------------------------------- WCSs


def _bbox(nx: int, ny: int) -> tuple[tuple[float, float], tuple[float, float]]:
    return ((-0.5, nx - 0.5), (-0.5, ny - 0.5))


def _world_frame() -> cf.CompositeFrame:
    sky = cf.CelestialFrame(
        name="sky", axes_order=(0, 1), reference_frame=ICRS(), unit=(u.deg, u.deg)
    )
    spec = cf.SpectralFrame(
        name="spectral", axes_order=(2,), unit=(u.um,), axes_names=("wavelength",)
    )
    return cf.CompositeFrame([sky, spec], name="world")


def _line(a: float, b: float) -> m.Model:
    """``a + b * t`` as a model with its inverse."""
    return m.Scale(b) | m.Shift(a)


def nirspec_slit_wcs(
    shape: tuple[int, int],
    *,
    ra: float = RA0,
    dec: float = DEC0,
    wave0: float = 2.9,
    dwave: float = 0.002,
    scale: float = 0.1,
    pa: float = 30.0,
) -> gwcs_wcs.WCS:
    """A NIRSpec-like slit: dispersion along x, ``detector -> slit_frame -> world``.

    `shape` is ``(ny, nx)`` of the cutout (the bounding box covers it); the slit centre is at
    (`ra`, `dec`) deg, tilted by position angle `pa`, `scale` arcsec per row; the wavelength
    is ``wave0 + dwave * x`` micron, independent of y. In the slit frame
    ``x_slit = (x - xc) / nx`` and ``y_slit = y - yc``.
    """
    ny, nx = shape
    xc, yc = (nx - 1) / 2.0, (ny - 1) / 2.0
    dra = scale * ARCSEC * np.sin(np.radians(pa)) / np.cos(np.radians(dec))
    ddec = scale * ARCSEC * np.cos(np.radians(pa))
    xslit = m.Shift(-xc) | m.Scale(1.0 / nx)
    det2slit = m.Mapping((0, 1, 0)) | xslit & m.Shift(-yc) & _line(wave0, dwave)
    det2slit.inverse = m.Mapping((2, 1)) | _line(wave0, dwave).inverse & m.Shift(yc)
    slit2world = m.Mapping((1, 1, 2)) | _line(ra, dra) & _line(dec, ddec) & m.Identity(1)
    x_from_wave = _line(wave0, dwave).inverse | xslit
    slit2world.inverse = (
        m.Mapping((2, 1, 2)) | x_from_wave & _line(dec, ddec).inverse & m.Identity(1)
    )
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    slit_frame = cf.CompositeFrame(
        [
            cf.Frame2D(name="slit_spatial", axes_order=(0, 1), unit=("", ""),
                       axes_names=("x_slit", "y_slit")),
            cf.SpectralFrame(name="spectral", axes_order=(2,), unit=(u.um,),
                             axes_names=("wavelength",)),
        ],
        name="slit_frame",
    )
    wcs = gwcs_wcs.WCS([(detector, det2slit), (slit_frame, slit2world), (_world_frame(), None)])
    wcs.bounding_box = _bbox(nx, ny)
    return wcs


def direct_slit_wcs(
    shape: tuple[int, int],
    *,
    dispaxis: int = 2,
    ra: float = RA0,
    dec: float = DEC0,
    wave0: float = 12.0,
    dwave: float = -0.05,
    scale: float = 0.11,
    pa: float = 75.0,
) -> gwcs_wcs.WCS:
    """A slit WCS straight from ``detector`` to ``world`` (MIRI LRS-like for ``dispaxis=2``).

    `dispaxis` 1 disperses along x (slit along y), 2 along y; the wavelength is
    ``wave0 + dwave * pixel`` along the dispersion; the sky position depends on the spatial
    pixel only (`scale` arcsec per pixel at position angle `pa` through `ra`, `dec`).
    """
    ny, nx = shape
    along = (1, 0) if dispaxis == 1 else (0, 1)  # (spatial input, dispersion input)
    centre = (ny - 1) / 2.0 if dispaxis == 1 else (nx - 1) / 2.0
    dra = scale * ARCSEC * np.sin(np.radians(pa)) / np.cos(np.radians(dec))
    ddec = scale * ARCSEC * np.cos(np.radians(pa))
    spatial, disp = along
    ra_model = m.Shift(-centre) | _line(ra, dra)
    dec_model = m.Shift(-centre) | _line(dec, ddec)
    forward = m.Mapping((spatial, spatial, disp)) | ra_model & dec_model & _line(wave0, dwave)
    back = dec_model.inverse & _line(wave0, dwave).inverse
    forward.inverse = m.Mapping((1, 2)) | back | m.Mapping((0, 1) if dispaxis == 2 else (1, 0))
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    wcs = gwcs_wcs.WCS(forward, input_frame=detector, output_frame=_world_frame())
    wcs.bounding_box = _bbox(nx, ny)
    return wcs


def cube_wcs(
    shape: tuple[int, int, int],
    *,
    ra: float = RA0,
    dec: float = DEC0,
    wave0: float = 4.9,
    dwave: float = 0.001,
    cdelt: float = 0.13,
) -> gwcs_wcs.WCS:
    """An IFU cube WCS: pixel ``(x, y, k)`` to (RA, Dec, wavelength), gnomonic projection.

    `shape` is ``(nwave, ny, nx)`` with (`ra`, `dec`) at the spatial centre, `cdelt` arcsec
    spaxels (RA growing to the left, as in cube_build) and ``wave0 + dwave * k`` micron.
    """
    nw, ny, nx = shape
    spatial = (
        m.Shift(-(nx - 1) / 2.0) & m.Shift(-(ny - 1) / 2.0)
        | m.Scale(-cdelt * ARCSEC) & m.Scale(cdelt * ARCSEC)
        | m.Pix2Sky_TAN()
        | m.RotateNative2Celestial(ra, dec, 180.0)
    )
    transform = spatial & _line(wave0, dwave)
    detector = cf.CoordinateFrame(
        naxes=3, axes_type=("SPATIAL", "SPATIAL", "SPECTRAL"), axes_order=(0, 1, 2),
        unit=(u.pix, u.pix, u.pix), axes_names=("x", "y", "z"), name="detector",
    )
    wcs = gwcs_wcs.WCS(transform, input_frame=detector, output_frame=_world_frame())
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5), (-0.5, nw - 0.5))
    return wcs


def spectrum_wcs(wavelength: Sequence[float], ra: float = RA0, dec: float = DEC0) -> Any:
    """The 1-D WCS of an extracted spectrum: pixel index to (RA, Dec, wavelength)."""
    wave = np.asarray(wavelength, dtype=float)
    index = np.arange(wave.size, dtype=float)
    forward = m.Mapping((0, 0, 0)) | m.Const1D(ra) & m.Const1D(dec) & m.Tabular1D(
        points=index, lookup_table=wave, bounds_error=False, fill_value=None
    )
    order = np.argsort(wave)
    forward.inverse = m.Mapping((2,)) | m.Tabular1D(
        points=wave[order], lookup_table=index[order], bounds_error=False
    )
    pixel = cf.CoordinateFrame(
        naxes=1, axes_type=("SPATIAL",), axes_order=(0,), unit=(u.pix,), name="pixel_frame"
    )
    return gwcs_wcs.WCS([(pixel, forward), (_world_frame(), None)])


# ----------------------------------------------------------------------------- metadata


def exposure_meta(exp_type: str, **changes: Any) -> dict[str, Any]:
    """Primary-header metadata of one exposure of `exp_type`.

    `exp_type` is a key of :data:`SETUPS`; `changes` are dotted paths to set, e.g.
    ``**{"exposure.exposure_time": 50.0}``.
    """
    instrument, detector, filt, grating = SETUPS[exp_type]
    inst: dict[str, Any] = {"name": instrument, "detector": detector}
    if filt:
        inst["filter"] = filt
    if grating:
        inst["pupil" if instrument in ("NIRISS", "NIRCAM") else "grating"] = grating
    if exp_type == "NRS_FIXEDSLIT":
        inst["fixed_slit"] = "S200A1"
    if exp_type == "MIR_MRS":
        inst.update(channel="12", band="SHORT")
    tree = {
        "telescope": "JWST",
        "instrument": inst,
        "exposure": {
            "type": exp_type, "nints": 1, "ngroups": 10, "nframes": 1, "readpatt": "NRSIRS2",
            "start_time": 60000.10, "mid_time": 60000.105, "end_time": 60000.11,
            "exposure_time": 100.0, "integration_time": 100.0, "duration": 110.0,
        },
        "observation": {
            "date": "2023-05-01", "time": "12:00:00.000", "program_number": "01234",
            "observation_number": "001", "visit_number": "001", "visit_group": "01",
            "sequence_id": "1", "activity_id": "01", "exposure_number": "00001",
        },
        "target": {"proposer_name": "SYNTH-1", "catalog_name": "SYNTH-1", "ra": RA0,
                   "dec": DEC0, "type": "FIXED", "source_type": "POINT"},
        "subarray": {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": 2048, "ysize": 2048},
        "cal_step": {"assign_wcs": "COMPLETE", "flat_field": "COMPLETE", "photom": "COMPLETE"},
        "wcsinfo": {"dispersion_direction": 2 if exp_type.startswith("MIR") else 1,
                    "ra_ref": RA0, "dec_ref": DEC0, "roll_ref": 30.0, "v2_ref": 300.0,
                    "v3_ref": -500.0, "v3yangle": 0.0, "vparity": -1, "s_region": ""},
    }
    return metatools.thaw(metatools.updated(tree, changes))


def _images(shape: tuple[int, ...], seed: int, level: float = 5.0) -> dict[str, np.ndarray]:
    """Science arrays with noise, a few flagged pixels, and consistent variances."""
    rng = np.random.default_rng(seed)
    data = (level + rng.normal(0.0, 0.1, shape)).astype(np.float32)
    var_poisson = np.full(shape, 0.01, np.float32)
    var_rnoise = np.full(shape, 0.004, np.float32)
    var_flat = np.full(shape, 0.001, np.float32)
    dq = np.zeros(shape, np.uint32)
    flat_index = rng.choice(data.size, size=max(1, data.size // 200), replace=False)
    dq.flat[flat_index] = 1 | 2048  # DO_NOT_USE | HOT
    data.flat[flat_index] = np.nan
    err = np.sqrt(var_poisson + var_rnoise + var_flat).astype(np.float32)
    return {"data": data, "dq": dq, "err": err, "var_poisson": var_poisson,
            "var_rnoise": var_rnoise, "var_flat": var_flat}


def _slit_wavelength(wcs: Any, shape: tuple[int, ...]) -> np.ndarray:
    y, x = np.indices(shape[-2:], dtype=float)
    return np.asarray(wcs(x, y)[2], dtype=np.float32)


def _pixel_area(scale: float) -> dict[str, float]:
    a2 = scale * scale
    return {"pixelarea_arcsecsq": a2, "pixelarea_steradians": a2 * (np.pi / 180 / 3600) ** 2}


# ----------------------------------------------------------------------------- slits


def _slit_part(
    index: int, exp_type: str, shape: tuple[int, int], seed: int, source_type: str
) -> Part:
    ny, nx = shape
    ra, dec = RA0 + 2e-4 * index, DEC0 + 1e-4 * index
    wfss = exp_type.endswith("WFSS")
    if exp_type.startswith("NRS"):
        wcs = nirspec_slit_wcs(shape, ra=ra, dec=dec)
    else:
        wcs = direct_slit_wcs(shape, dispaxis=1, ra=ra, dec=dec, wave0=1.3, dwave=0.001)
    arrays = _images(shape, seed + index)
    arrays["wavelength"] = _slit_wavelength(wcs, shape)
    attrs: dict[str, Any] = {
        "name": "S200A1" if exp_type == "NRS_FIXEDSLIT" else str(11 + index),
        "xstart": 101 + 7 * index, "ystart": 201 + 30 * index, "xsize": nx, "ysize": ny,
        "source_id": 1000 + index if wfss else index + 1, "source_name": f"src{index}",
        "source_type": source_type, "source_ra": ra, "source_dec": dec,
        "source_xpos": 0.05 * index, "source_ypos": -0.02 * index,
    }
    if exp_type == "NRS_MSASPEC":
        attrs.update(slitlet_id=11 + index, shutter_state="1x1", quadrant=3)
    meta: dict[str, Any] = {"bunit_data": "MJy/sr", "bunit_err": "MJy/sr",
                            "photometry": _pixel_area(0.1),
                            "wcsinfo": {"dispersion_direction": 1}}
    if wfss:
        meta["wcsinfo"]["spectral_order"] = 1
    return Part(arrays=arrays, attrs=attrs, meta=meta, wcs=wcs)


def make_multislit(
    exp_type: str = "NRS_FIXEDSLIT",
    nslits: int = 2,
    shape: tuple[int, int] = (12, 60),
    *,
    seed: int = 0,
    source_type: str = "POINT",
    **meta: Any,
) -> Product:
    """A ``MultiSlitModel`` ``_cal``: NIRSpec FS/MOS slits or WFSS source cutouts.

    `exp_type` is ``NRS_FIXEDSLIT``, ``NRS_MSASPEC``, ``NIS_WFSS`` or ``NRC_WFSS``; every slit
    has shape ``(ny, nx)``, its own WCS and sky position; `meta` are dotted paths to set.
    """
    parts = [_slit_part(i, exp_type, shape, seed, source_type) for i in range(nslits)]
    tree = exposure_meta(exp_type, **meta)
    if exp_type.endswith("WFSS"):
        tree["wcsinfo"]["s_region"] = _s_region(RA0, DEC0, 0.01)
    return Product("MultiSlitModel", tree, parts)


def _polygon(corners: Sequence[tuple[float, float]]) -> str:
    """An ``S_REGION`` string as jwst writes it (two spaces after ``ICRS``)."""
    return "POLYGON ICRS  " + " ".join(f"{a:.9f} {b:.9f}" for a, b in corners)


def _s_region(ra: float, dec: float, half: float) -> str:
    return _polygon([(ra - half, dec - half), (ra + half, dec - half),
                     (ra + half, dec + half), (ra - half, dec + half)])


def _slit_region(ra: float, dec: float, pa: float, length: float, width: float) -> str:
    """Footprint of a slit of `length` x `width` arcsec at position angle `pa` (deg)."""
    along = np.array([np.sin(np.radians(pa)) / np.cos(np.radians(dec)), np.cos(np.radians(pa))])
    across = np.array([along[1] / np.cos(np.radians(dec)), -along[0] * np.cos(np.radians(dec))])
    centre = np.array([ra, dec])
    corners = [centre + (sl * length * along + sw * width * across) * ARCSEC / 2
               for sl, sw in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return _polygon([(float(a), float(b)) for a, b in corners])


def make_slit_model(
    shape: tuple[int, int] = (60, 24),
    *,
    seed: int = 0,
    model_type: str = "SlitModel",
    level: float = 5.0,
    **meta: Any,
) -> Product:
    """A MIRI LRS fixed-slit ``_cal`` (``SlitModel``; ``ImageModel`` for older files).

    Dispersion along y of ``shape = (ny, nx)``; `level` is the mean surface brightness in
    MJy/sr; `meta` are dotted paths to set (``**{"dither.position_number": 2}``).
    """
    wcs = direct_slit_wcs(shape, dispaxis=2)
    arrays = _images(shape, seed, level)
    arrays["wavelength"] = _slit_wavelength(wcs, shape)
    tree = exposure_meta("MIR_LRS-FIXEDSLIT", **meta)
    tree.update(bunit_data="MJy/sr", bunit_err="MJy/sr", photometry=_pixel_area(0.11))
    tree["wcsinfo"]["s_region"] = _slit_region(RA0, DEC0, 75.0, 0.11 * shape[1], 0.51)
    tree["subarray"].update(name="FULL", xsize=1032, ysize=1024)
    tree["exposure"]["readpatt"] = "FASTR1"
    attrs: dict[str, Any] = {}
    if model_type == "SlitModel":
        attrs = {"name": "MIR_LRS-FIXEDSLIT", "xstart": 302, "ystart": 260,
                 "xsize": shape[1], "ysize": shape[0], "source_type": "POINT",
                 "source_xpos": 0.0, "source_ypos": 0.0}
    return Product(model_type, tree, [Part(arrays=arrays, attrs=attrs, wcs=wcs)])


def make_ifu_image(
    exp_type: str = "MIR_MRS", shape: tuple[int, int] = (40, 36), *, seed: int = 0, **meta: Any
) -> Product:
    """An ``IFUImageModel`` ``_cal`` (MIRI MRS or NIRSpec IFU) with a slice map.

    ``regions`` numbers the slices (0 between them); `meta` are dotted paths to set.
    """
    dispaxis = 2 if exp_type == "MIR_MRS" else 1
    wcs = direct_slit_wcs(shape, dispaxis=dispaxis, wave0=4.9, dwave=0.01)
    arrays = _images(shape, seed)
    arrays["wavelength"] = _slit_wavelength(wcs, shape)
    regions = np.zeros(shape, np.int32)
    axis_len = shape[1] if dispaxis == 2 else shape[0]
    slices = (np.arange(axis_len) // 4 + 101).astype(np.int32)
    slices[::4] = 0
    regions[...] = slices[None, :] if dispaxis == 2 else slices[:, None]
    arrays["regions"] = regions
    tree = exposure_meta(exp_type, **meta)
    tree.update(bunit_data="MJy/sr", bunit_err="MJy/sr", photometry=_pixel_area(0.13))
    return Product("IFUImageModel", tree, [Part(arrays=arrays, wcs=wcs)])


def make_image_model(shape: tuple[int, int] = (60, 24), *, seed: int = 0) -> Product:
    """An older MIRI LRS ``_cal`` written as an ``ImageModel``."""
    return make_slit_model(shape, seed=seed, model_type="ImageModel")


def make_soss_cube(shape: tuple[int, int, int] = (3, 32, 80), *, seed: int = 0) -> Product:
    """A NIRISS SOSS ``CubeModel`` (``_calints``) with its ``int_times`` table.

    `shape` is ``(nints, ny, nx)``.
    """
    arrays: dict[str, Any] = _images(shape, seed)
    nints = shape[0]
    times = np.zeros(nints, dtype=[
        ("integration_number", "i4"), ("int_start_MJD_UTC", "f8"), ("int_mid_MJD_UTC", "f8"),
        ("int_end_MJD_UTC", "f8"), ("int_start_BJD_TDB", "f8"), ("int_mid_BJD_TDB", "f8"),
        ("int_end_BJD_TDB", "f8")])
    times["integration_number"] = np.arange(1, nints + 1)
    for j, name in enumerate(times.dtype.names[1:]):
        times[name] = 60000.1 + 0.001 * np.arange(nints) + 1e-4 * (j % 3) + 0.0008 * (j // 3)
    arrays["int_times"] = times
    tree = exposure_meta("NIS_SOSS", **{"exposure.nints": nints})
    tree["subarray"].update(name="SUBSTRIP256", xsize=shape[2], ysize=shape[1])
    tree.update(bunit_data="MJy/sr", bunit_err="MJy/sr")
    return Product("CubeModel", tree, [Part(arrays=arrays)])


def make_multiexposure(
    nexp: int = 2, shape: tuple[int, int] = (12, 60), *, seed: int = 0
) -> Product:
    """A source-based ``_cal`` (``MultiExposureModel``): one slit of one source per exposure.

    Each part's ``meta`` is the whole metadata of its exposure, as exp_to_source keeps it.
    """
    parts = []
    for i in range(nexp):
        slit = _slit_part(0, "NRS_FIXEDSLIT", shape, seed + 17 * i, "POINT")
        exp_meta = exposure_meta(
            "NRS_FIXEDSLIT",
            filename=f"jw01234001001_0110{i + 1}_00001_nrs1_cal.fits",
            **{"exposure.start_time": 60000.1 + 0.01 * i,
               "dither.position_number": i + 1, "dither.total_points": nexp},
        )
        exp_meta.update(metatools.thaw(slit.meta))
        parts.append(slit.evolve(meta=exp_meta))
    tree = exposure_meta("NRS_FIXEDSLIT")
    return Product("MultiExposureModel", tree, parts)


def make_s2d(
    exp_type: str = "NRS_FIXEDSLIT",
    shape: tuple[int, int] = (15, 70),
    *,
    seed: int = 0,
    source_type: str = "EXTENDED",
) -> Product:
    """A resampled ``_s2d`` (``SlitModel``) with WHT, CON and WAVELENGTH, no DQ.

    ``NRS_FIXEDSLIT`` disperses along x, ``MIR_LRS-FIXEDSLIT`` along y; SCI has no NaN.
    """
    if exp_type.startswith("NRS"):
        wcs, scale, dispaxis = nirspec_slit_wcs(shape), 0.1, 1
    else:
        wcs, scale, dispaxis = direct_slit_wcs(shape, dispaxis=2), 0.11, 2
    arrays = _images(shape, seed)
    del arrays["dq"]
    arrays["data"][np.isnan(arrays["data"])] = 5.0
    arrays["wavelength"] = _slit_wavelength(wcs, shape)
    arrays["wht"] = np.full(shape, 2.0, np.float32)
    arrays["con"] = np.full((1, *shape), 3, np.int32)
    tree = exposure_meta(exp_type, **{"cal_step.resample": "COMPLETE",
                                      "wcsinfo.dispersion_direction": dispaxis})
    tree.update(bunit_data="MJy/sr", bunit_err="MJy/sr", photometry=_pixel_area(scale))
    tree["resample"] = {"pixel_scale_ratio": 1.0, "pixfrac": 1.0, "weight_type": "ivm"}
    attrs = {"name": "S200A1" if dispaxis == 1 else "MIR_LRS-FIXEDSLIT",
             "source_type": source_type, "source_id": 1, "source_xpos": 0.0,
             "source_ypos": 0.0}
    return Product("SlitModel", tree, [Part(arrays=arrays, attrs=attrs, wcs=wcs)])


def make_s3d(shape: tuple[int, int, int] = (25, 13, 15), *, seed: int = 0) -> Product:
    """A MIRI MRS-like ``_s3d`` (``IFUCubeModel``) with ERR, DQ, WMAP and WCS-TABLE.

    An extended source in MJy/sr; the first row of spaxels is NaN and NON_SCIENCE.
    """
    nw, ny, nx = shape
    wave0, dwave, cdelt = 4.9, 0.001, 0.13
    wcs = cube_wcs(shape, wave0=wave0, dwave=dwave, cdelt=cdelt)
    rng = np.random.default_rng(seed)
    data = (3.0 + np.arange(nw)[:, None, None] * 0.1 + rng.normal(0, 0.05, shape))
    dq = np.zeros(shape, np.uint32)
    dq[:, 0, :] = 512  # NON_SCIENCE edge
    data[:, 0, :] = np.nan
    arrays = {
        "data": data.astype(np.float32),
        "err": np.full(shape, 0.05, np.float32),
        "dq": dq,
        "weightmap": np.where(dq == 0, 4.0, 0.0).astype(np.float32),
        "wavetable": tables.wavetable(wave0 + dwave * np.arange(nw)),
    }
    tree = exposure_meta("MIR_MRS", **{"cal_step.cube_build": "COMPLETE",
                                       "target.source_type": "EXTENDED"})
    tree.update(bunit_data="MJy/sr", bunit_err="MJy/sr")
    tree["photometry"] = {"pixelarea_arcsecsq": cdelt**2,
                          "pixelarea_steradians": cdelt**2 * 2.3504e-11}
    tree["ifu"] = {"flux_extension": "SCI", "error_extension": "ERR", "error_type": "ERR",
                   "dq_extension": "DQ", "roi_spatial": 0.1, "roi_wave": 0.002,
                   "weighting": "drizzle", "weight_power": 2.0}
    tree["wcsinfo"].update(crval1=RA0, crval2=DEC0, crval3=wave0, crpix1=(nx + 1) / 2,
                           crpix2=(ny + 1) / 2, crpix3=1.0, cdelt1=cdelt / 3600,
                           cdelt2=cdelt / 3600, cdelt3=dwave, ctype1="RA---TAN",
                           ctype2="DEC--TAN", ctype3="WAVE", cunit1="deg", cunit2="deg",
                           cunit3="um", wcsaxes=3, dispersion_direction=2)
    return Product("IFUCubeModel", tree, [Part(arrays=arrays, wcs=wcs)])


# ----------------------------------------------------------------------------- spectra


def _spectrum_columns(wave: np.ndarray, rng: np.random.Generator, level: float) -> dict:
    flux = level * (1.0 + 0.1 * np.sin(wave * 7.0)) + rng.normal(0, 0.01 * level, wave.size)
    var = np.full(wave.size, (0.02 * level) ** 2)
    sb = flux * 10.0
    return {
        "flux": flux, "flux_error": np.sqrt(3 * var), "flux_var_poisson": var,
        "flux_var_rnoise": var, "flux_var_flat": var, "surf_bright": sb,
        "sb_error": np.sqrt(300 * var), "sb_var_poisson": 100 * var,
        "sb_var_rnoise": 100 * var, "sb_var_flat": 100 * var, "dq": np.zeros(wave.size, "u4"),
        "background": np.full(wave.size, 0.5), "bkgd_error": np.full(wave.size, 0.05),
        "npixels": np.full(wave.size, 5.0),
    }


def make_x1d(
    nspec: int = 1,
    npoints: int = 50,
    *,
    exp_type: str = "MIR_LRS-FIXEDSLIT",
    source_type: str = "POINT",
    seed: int = 0,
    level: float = 1e-3,
    wave_shift: float = 0.0,
    mrs: bool = False,
    **meta: Any,
) -> Product:
    """An ``_x1d`` (``MultiSpecModel``, or ``MRSMultiSpecModel`` with `mrs`).

    `nspec` spectra of `npoints` points in Jy and MJy/sr, each with its 1-D WCS; `level` is
    the mean flux (Jy), `wave_shift` moves the wavelengths (micron), `meta` are dotted paths.
    """
    rng = np.random.default_rng(seed)
    units = tables.spectrum_units(photom_done=True, ifu=mrs)
    parts = []
    for i in range(nspec):
        wave = 5.0 + wave_shift + 0.1 * i + 0.02 * np.arange(npoints)
        table = tables.spec_table(wave, mrs=mrs, units=units,
                                  **_spectrum_columns(wave, rng, level))
        attrs = {"name": f"slit{i}", "source_id": i + 1, "source_type": source_type,
                 "spectral_order": 1, "dispersion_direction": 2, "extraction_x": 10.0 + i}
        parts.append(Part(arrays={"spec_table": table}, attrs=attrs, wcs=spectrum_wcs(wave)))
    model_type = "MRSMultiSpecModel" if mrs else "MultiSpecModel"
    tree = exposure_meta("MIR_MRS" if mrs else exp_type, **meta)
    return tables.spectrum_product(parts, tree, model_type)


def make_c1d(npoints: int = 60, *, seed: int = 0, source_type: str = "POINT") -> Product:
    """A ``_c1d`` (``MultiCombinedSpecModel``) with one combined spectrum."""
    rng = np.random.default_rng(seed)
    wave = 1.0 + 0.01 * np.arange(npoints)
    cols = _spectrum_columns(wave, rng, 2e-3)
    table = tables.combined_table(
        wave, units=tables.combined_units("Jy", "MJy/sr"), flux=cols["flux"],
        error=cols["flux_error"], surf_bright=cols["surf_bright"], sb_error=cols["sb_error"],
        dq=cols["dq"], weight=np.full(npoints, 200.0), n_input=np.full(npoints, 2.0),
    )
    attrs = {"spectral_order": 1, "source_id": 3, "source_type": source_type}
    part = Part(arrays={"spec_table": table}, attrs=attrs, wcs=spectrum_wcs(wave))
    tree = exposure_meta("NIS_SOSS", **{"cal_step.combine_1d": "COMPLETE"})
    return tables.spectrum_product([part], tree, "MultiCombinedSpecModel")


def _wfss_rows(nsources: int, lengths: Sequence[int], rng: np.random.Generator) -> list:
    rows = []
    for j in range(nsources):
        n = lengths[j % len(lengths)]
        wave = 1.3 + 0.001 * j + 0.005 * np.arange(n)
        cols = _spectrum_columns(wave, rng, 1e-4 * (j + 1))
        rows.append({"wavelength": wave, **cols, "source_id": 100 + j,
                     "source_type": "POINT" if j % 2 == 0 else "EXTENDED",
                     "source_ra": RA0 + 1e-3 * j, "source_dec": DEC0 - 1e-3 * j,
                     "source_xpos": 10.0 + j, "source_ypos": 20.0 + j,
                     "extract2d_xstart": 100 + j, "extract2d_ystart": 200,
                     "extract2d_xstop": 100 + j + n, "extract2d_ystop": 230})
    return rows


def make_wfss_x1d(
    nsources: int = 3, nexposures: int = 2, lengths: Sequence[int] = (40, 31, 35), *, seed=0
) -> Product:
    """A WFSS ``_x1d`` (``WFSSMultiSpecModel``): one table per exposure, one row per source.

    Spectrum lengths cycle through `lengths`; shorter ones are padded with NaN.
    """
    rng = np.random.default_rng(seed)
    units = tables.spectrum_units(photom_done=True, ifu=False)
    parts = []
    for k in range(nexposures):
        table = tables.wfss_spec_table(_wfss_rows(nsources, lengths, rng), units=units)
        attrs = {"filename": f"jw01234001001_0110{k + 1}_00001_nis_cal.fits",
                 "group_id": f"jw01234001001_0110{k + 1}_00001", "dispersion_direction": 1,
                 "spectral_order": 1, "exposure_time": 300.0, "integration_time": 300.0,
                 "s_region": _s_region(RA0, DEC0, 0.01)}
        parts.append(Part(arrays={"spec_table": table}, attrs=attrs))
    tree = exposure_meta("NIS_WFSS")
    return tables.spectrum_product(parts, tree, "WFSSMultiSpecModel")


def make_wfss_c1d(nsources: int = 3, lengths: Sequence[int] = (40, 31, 35), *, seed=0):
    """A WFSS ``_c1d`` (``WFSSMultiCombinedSpecModel``): one table, one row per source.

    Spectrum lengths cycle through `lengths`; shorter ones are padded with NaN.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for row in _wfss_rows(nsources, lengths, rng):
        rows.append({"wavelength": row["wavelength"], "flux": row["flux"],
                     "error": row["flux_error"], "surf_bright": row["surf_bright"],
                     "sb_error": row["sb_error"], "dq": row["dq"],
                     "weight": np.full(row["flux"].size, 600.0),
                     "n_input": np.full(row["flux"].size, 2.0), "source_id": row["source_id"],
                     "source_type": row["source_type"], "source_ra": row["source_ra"],
                     "source_dec": row["source_dec"]})
    table = tables.wfss_combined_table(rows, units=tables.combined_units("Jy", "MJy/sr"))
    part = Part(arrays={"spec_table": table},
                attrs={"spectral_order": 1, "dispersion_direction": 1})
    tree = exposure_meta("NIS_WFSS", **{"cal_step.combine_1d": "COMPLETE"})
    return tables.spectrum_product([part], tree, "WFSSMultiCombinedSpecModel")
