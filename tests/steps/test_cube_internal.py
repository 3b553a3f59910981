"""cube_build ``coord_system='internal_cal'`` (NIRSpec slicer-plane cubes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spec3nb.errors import ParameterError
from spec3nb.simulate import simulate
from spec3nb.steps import cube_internal
from spec3nb.steps.cube_build import SPEC, cube_build

RANGE = {"wavemin": 3.40, "wavemax": 3.60}  # a slice of the band keeps the test quick


@pytest.fixture(scope="module")
def nrs():
    return simulate("nrs_ifu", seed=21)


@pytest.fixture(scope="module")
def cube(nrs):
    result = SPEC.run(nrs.exposures[:1], coord_system="internal_cal", **RANGE)
    assert [o.suffix for o in result.outputs] == ["g395h-f290lp_internal_s3d"]
    return result.outputs[0].product


def test_grid_and_keywords_follow_jwst(nrs, cube):
    a_min, a_max, b_min, b_max = cube_internal.slicer_extent(nrs.exposures[0])
    info = cube.meta["wcsinfo"]
    nz, ny, nx = cube.part.data.shape
    # one column per slice; along-slice spaxels half as wide, symmetric about 0
    assert nx == 30
    assert info["cdelt1"] == pytest.approx((b_max - b_min) / 30, rel=1e-12)
    assert info["cdelt2"] == pytest.approx(info["cdelt1"] / 2, rel=1e-12)
    half = math.ceil(max(abs(a_min), abs(a_max)) / info["cdelt2"])
    assert ny == 2 * half + 1
    assert info["crval2"] == pytest.approx(-(half + 0.5) * info["cdelt2"], rel=1e-12)
    assert info["crpix1"] == info["crpix2"] == 0.5
    # wavelengths centred on the requested range, the cubepar step
    step = info["cdelt3"]
    assert nz == math.ceil((RANGE["wavemax"] - RANGE["wavemin"]) / step)
    centre = info["crval3"] + (nz - 1) / 2 * step
    # (jwst multiplies the cubepar's single-precision step in single precision: ~2e-9 off)
    assert centre == pytest.approx(sum(RANGE.values()) / 2, abs=1e-8)
    assert (info["ctype1"], info["ctype2"], info["ctype3"]) == ("NRSSLICERX", "NRSSLICERY",
                                                                "WAVE")
    assert info["cunit1"] == "arcsec"  # the simulator's slicer frame (jwst's: metres)
    assert (info["pc1_1"], info["pc1_2"], info["pc2_1"], info["pc2_2"]) == (1, 0, 0, 0 + 1)
    assert cube.get("ifu.weighting") == "emsm"
    assert cube.get("ifu.roi_spatial") == 0 and cube.get("ifu.weight_power") == 0


def test_wavelength_axis_in_the_precision_jwst_computes_it():
    """Cubepar values (single precision) give jwst's single-precision wavelength axis; user
    values (double) a double-precision one."""
    extent = (-1.0, 1.0, -1.45, 1.45)
    step = float(np.float32(0.000665))
    cubepar = cube_internal.internal_grid(extent, float(np.float32(2.87)),
                                          float(np.float32(5.27)), step)
    z = cubepar.zcoord
    np.testing.assert_array_equal(z, z.astype(np.float32))  # every plane a float32 sum
    expected = np.float32((np.float32(5.27) + np.float32(2.87)) / 2.0
                          - (z.size / 2.0) * np.float32(step) + np.float32(step) / 2.0)
    assert cubepar.crval3 == float(expected)
    user = cube_internal.internal_grid(extent, 3.41, 3.59, step)
    assert user.zcoord[0] != np.float32(user.zcoord[0])  # double precision throughout


def test_wcs_is_the_one_jwst_builds_from_these_keywords(cube):
    from jwst.assign_wcs import pointing

    from spec3nb.datamodels import to_datamodel

    theirs = pointing.create_fitswcs(to_datamodel(cube))
    x, y, z = np.array([0.0, 7.0, 29.0]), np.array([0.0, 11.0, 3.0]), np.array([0.0, 5, 9])
    np.testing.assert_allclose(np.array(cube.part.wcs(x, y, z)),
                               np.array(theirs(x, y, z)), rtol=1e-12)
    assert [f.name for f in cube.part.wcs.output_frame.frames] == \
        [f.name for f in theirs.output_frame.frames]


def test_cube_recovers_the_truth(nrs, cube):
    info = cube.meta["wcsinfo"]
    data = cube.part.data.astype(float)
    nz, ny, nx = data.shape
    wave = info["crval3"] + (np.arange(nz) + 1 - info["crpix3"]) * info["cdelt3"]
    sky = nrs.truth.background_spectrum(wave)
    # surface brightness is conserved: the source-free level is the sky's
    assert np.nanmedian(data, axis=(1, 2)) / sky == pytest.approx(1.0, abs=0.01)
    # the simulator's slicer frame is in arcsec: spaxel area x surface brightness = flux
    area = info["cdelt1"] * info["cdelt2"] * 2.3504e-11 * 1e9  # MJy/sr -> mJy
    net = data - sky[:, None, None]
    flux = np.nansum(net, axis=(1, 2)) * area
    source = nrs.truth.sources[0]
    # jwst's pixel corners are shifted by half a (binned 16-column) pixel in wavelength,
    # which moves the spectral lines slightly: 5 %
    assert np.median(flux / source.spectrum(wave)) == pytest.approx(1.0, abs=0.05)
    # the source sits in the slice column and along-slice place the truth says
    ra, dec = source.extra["positions"][0]
    wcs = nrs.exposures[0].part.wcs
    across, along, _ = wcs.get_transform(wcs.output_frame.name, "slicer")(ra, dec, 3.5)
    image = np.nansum(np.where(np.isfinite(net), net, 0.0), axis=0)
    x = info["crval1"] + (np.arange(nx) + 1 - info["crpix1"]) * info["cdelt1"]
    y = info["crval2"] + (np.arange(ny) + 1 - info["crpix2"]) * info["cdelt2"]
    column = x[np.argmax(image.sum(axis=0))]
    assert abs(column - across) < info["cdelt1"] / 2
    yc = np.sum(y * image.sum(axis=1)) / image.sum()
    # along the slice jwst's corners shift by half an image pixel (4 binned rows: 0.2")
    assert abs(yc - (along + 0.2)) < 0.2
    wmap = cube.part.arrays["weightmap"]
    assert np.all(np.isnan(data[wmap == 0])) and set(np.unique(cube.part.dq)) <= {0, 1, 513}


def test_requests_jwst_refuses_are_refused(nrs):
    exposures = simulate("mir_mrs", seed=21).exposures
    with pytest.raises(ParameterError, match="not valid for MIRI"):
        cube_build(exposures, coord_system="internal_cal")
    with pytest.raises(ParameterError, match="single exposure; 4 exposures"):
        cube_build(nrs.exposures, coord_system="internal_cal")
    other = nrs.exposures[1].evolve(meta={"instrument": {
        **nrs.exposures[1].meta["instrument"], "grating": "G235H", "filter": "F170LP"}})
    # two gratings are two cubes (output_type is forced to band), each from one exposure
    assert cube_internal.check_request("NIRSPEC", [[("g395h", "f290lp")],
                                                   [("g235h", "f170lp")]],
                                       {("g395h", "f290lp"): [0],
                                        ("g235h", "f170lp"): [1]}) is None
    with pytest.raises(ParameterError, match="single grating/filter"):
        cube_internal.check_request("NIRSPEC", [[("g395h", "f290lp"), ("g235h", "f170lp")]],
                                    {("g395h", "f290lp"): [0], ("g235h", "f170lp"): [1]})
    no_slicer = nrs.exposures[0].evolve(parts=[nrs.exposures[0].part.evolve(
        wcs=_without_slicer(nrs.exposures[0].part.wcs))])
    with pytest.raises(ParameterError, match="no 'slicer' frame"):
        cube_build([no_slicer], coord_system="internal_cal", **RANGE)
    assert other.get("instrument.grating") == "G235H"


def _without_slicer(wcs):
    from gwcs import wcs as gwcs_wcs

    return gwcs_wcs.WCS([(wcs.available_frames[0], wcs.forward_transform),
                         (wcs.output_frame, None)])


def test_jwst_area_ranges_and_corner_quadrilaterals():
    # a pixel just inside one spaxel x one plane gives one full overlap (exact edges are
    # left to jwst's single-precision clipping)
    grid = cube_internal.internal_grid((-0.1, 0.1, -1.5, 1.5), 3.0, 3.01, 0.001)
    y0, z0 = grid.ycoord[3], grid.zcoord[4]
    ha, hz = 0.999 * grid.cdelt2 / 2, 0.999 * grid.cdelt3 / 2
    along = np.array([[y0 - ha, y0 + ha, y0 + ha, y0 - ha]])
    lam = np.array([[z0 - hz, z0 - hz, z0 + hz, z0 + hz]])
    pix = cube_internal.SlicerPixels(along, lam, np.array([7]), np.array([2.0]),
                                     np.array([0.5]))
    from spec3nb.steps.cube_weights import Accumulator

    nz, ny, nx = grid.shape
    acc = Accumulator.zeros(nz * ny * nx)
    cube_internal.accumulate(pix, grid, acc)
    voxel = 4 * nx * ny + 3 * nx + 7
    assert acc.count.sum() == 1 and acc.count[voxel] == 1
    assert acc.weight[voxel] == pytest.approx(1.0) and acc.flux[voxel] == pytest.approx(2.0)
    # shifted by a quarter spaxel and plane: four voxels, area fractions summing to 1
    along2 = along + grid.cdelt2 / 4
    lam2 = lam + grid.cdelt3 / 4
    acc2 = Accumulator.zeros(nz * ny * nx)
    cube_internal.accumulate(cube_internal.SlicerPixels(along2, lam2, np.array([7]),
                                                        np.array([2.0]), np.array([0.5])),
                             grid, acc2)
    assert acc2.count.sum() == 4 and acc2.weight.sum() == pytest.approx(1.0)
    assert acc2.weight.max() == pytest.approx((0.999 / 2 + 0.25) ** 2 / 0.999**2)


# ------------------------------------------------------ the archive WCS form, in metres

#: Slicer-plane metres per simulated arcsec (any scale will do: jwst's frame is metres).
PER_ARCSEC = 1.0e-3


def _in_metres(product):
    """`product` with jwst's slicer units: positions in metres and wavelengths in metres.

    The slice-map selector keeps its form (one bounded transform per slice), so the WCS is
    read as an archive file's is; every pixel keeps its sky coordinates.
    """
    from astropy import units as u
    from astropy.modeling import bind_bounding_box, models
    from gwcs import coordinate_frames as cf
    from gwcs import selector
    from gwcs import wcs as gwcs_wcs

    wcs = product.part.wcs
    det2slicer = wcs.pipeline[1].transform
    to_metres = models.Scale(PER_ARCSEC) & models.Scale(PER_ARCSEC) & models.Scale(1e-6)
    transforms = {}
    for label, transform in det2slicer.selector.items():
        scaled = transform | to_metres
        bind_bounding_box(scaled, transform.bounding_box.bounding_box(order="F"), order="F")
        transforms[label] = scaled
    mapper = selector.LabelMapperArray(np.asarray(product.part.arrays["regions"]))
    metres = selector.RegionsSelector(("x", "y"), ("x_slice", "y_slice", "lam"),
                                      label_mapper=mapper, selector=transforms,
                                      name="det2slicer")
    frame = cf.CompositeFrame([
        cf.Frame2D(name="slicer_spatial", axes_order=(0, 1), unit=(u.m, u.m),
                   axes_names=("x_slice", "y_slice")),
        cf.SpectralFrame(name="slicer_spectral", axes_order=(2,), unit=(u.m,),
                         axes_names=("wavelength",))], name="slicer")
    steps = [(wcs.pipeline[0].frame, wcs.pipeline[0].transform),
             (wcs.pipeline[1].frame, metres),
             (frame, to_metres.inverse | wcs.pipeline[2].transform),
             *((step.frame, step.transform) for step in wcs.pipeline[3:])]
    rebuilt = gwcs_wcs.WCS(steps)
    rebuilt.bounding_box = wcs.bounding_box
    return product.evolve(parts=[product.part.evolve(wcs=rebuilt)])


def test_slicer_frame_in_metres_as_in_archive_files(nrs, cube):
    """jwst's slicer frame (metres, wavelengths in metres) gives the same cubes, scaled."""
    exposure = _in_metres(nrs.exposures[0])
    y, x = np.nonzero(exposure.part.arrays["regions"] > 0)
    np.testing.assert_allclose(np.array(exposure.part.wcs(x, y)),
                               np.array(nrs.exposures[0].part.wcs(x, y)), rtol=1e-12)
    metres = SPEC.run([exposure], coord_system="internal_cal", **RANGE).outputs[0].product
    info, ref = metres.meta["wcsinfo"], cube.meta["wcsinfo"]
    assert info["cunit1"] == info["cunit2"] == "meter"
    for key in ("cdelt1", "cdelt2", "crval1", "crval2"):
        assert info[key] == pytest.approx(ref[key] * PER_ARCSEC, rel=1e-9), key
    assert (info["crval3"], info["cdelt3"]) == (ref["crval3"], ref["cdelt3"])
    np.testing.assert_allclose(metres.part.data, cube.part.data, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(metres.part.arrays["weightmap"],
                                  cube.part.arrays["weightmap"])
    # a sky cube: the same pixels, the same corners (one slice width across, in metres)
    sky = [SPEC.run([e], **RANGE).outputs[0].product
           for e in (exposure, nrs.exposures[0])]
    np.testing.assert_allclose(sky[0].part.data, sky[1].part.data, rtol=1e-6)
    np.testing.assert_array_equal(sky[0].part.arrays["weightmap"],
                                  sky[1].part.arrays["weightmap"])
