"""cube_build against the simulator's truth, its pieces, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels.ref_cubepar import load_cubepar
from spec3nb.errors import ParameterError
from spec3nb.simulate import simulate
from spec3nb.simulate.ifu_miri import CUBEPAR_NAME
from spec3nb.steps import cube_dq, cube_geometry, cube_weights
from spec3nb.steps.cube_build import SPEC, cube_build


@pytest.fixture(scope="module")
def mrs(tmp_path_factory):
    dataset = simulate("mir_mrs", seed=21)
    path = tmp_path_factory.mktemp("cp") / CUBEPAR_NAME
    path.write_bytes(dataset.references[CUBEPAR_NAME])
    return dataset, {"cubepar": load_cubepar(path)}


@pytest.fixture(scope="module")
def nrs():
    return simulate("nrs_ifu", seed=21)


def _sky_level(truth) -> tuple:
    sky = truth.background_spectrum
    mid = 0.5 * (sky.wavelength[0] + sky.wavelength[-1])
    scale = np.mean([e.background for e in truth.exposures]) / sky(mid)
    return sky, scale


def _check_point_source(cube, truth, max_median=0.02, max_p90=0.03, max_offset=0.05,
                        block=1, pct=90):
    """Flux within `max_median` where S/N > 50, position within `max_offset` arcsec.

    `block` planes are summed before the comparison (binned simulations sample the
    spectrum more coarsely than the cube's planes).
    """
    part = cube.part
    nz = part.data.shape[0]
    ones = np.zeros(nz)
    wave = part.wcs(ones, ones, np.arange(nz))[2]
    sky, scale = _sky_level(truth)
    area = cube.get("photometry.pixelarea_steradians")
    net = part.data - sky(wave)[:, None, None] * scale
    flux = np.nansum(net, axis=(1, 2)) * area * 1e9  # mJy
    noise = np.sqrt(np.nansum(part.err.astype(float) ** 2, axis=(1, 2))) * area * 1e9
    source = truth.sources[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        good = np.isfinite(flux) & (flux / noise > 50)
    assert good.sum() > 0.5 * np.count_nonzero(np.isfinite(part.data).any(axis=(1, 2)))
    model = source.spectrum(wave)
    if block > 1:
        n = (nz // block) * block
        keep = good[:n].reshape(-1, block).all(axis=1)
        flux, model = (v[:n].reshape(-1, block).sum(axis=1)[keep] for v in (flux, model))
        ratio = flux / model
    else:
        ratio = flux[good] / model[good]
    assert abs(np.median(ratio) - 1) < max_median
    assert np.percentile(np.abs(ratio - 1), pct) < max_p90
    image = np.nansum(np.where(np.isfinite(net), net, 0)[good], axis=0)
    y, x = np.indices(image.shape)
    peak = image > 0.2 * image.max()
    xc, yc = (np.sum(v[peak] * image[peak]) / np.sum(image[peak]) for v in (x, y))
    ra, dec, _ = part.wcs(xc, yc, 0)
    offset = np.hypot((ra - source.ra) * np.cos(np.radians(dec)), dec - source.dec) * 3600
    assert offset < max_offset


def test_miri_cubes_recover_the_point_source(mrs):
    dataset, refs = mrs
    result = SPEC.run(dataset.exposures, references=refs)
    assert [o.suffix for o in result.outputs] == ["ch1-short_s3d", "ch2-short_s3d"]
    for output in result.outputs:
        cube = output.product
        assert cube.model_type == "IFUCubeModel" and output.origin is None
        assert cube.get("instrument.channel") == output.suffix[2]
        assert cube.get("wcsinfo.ctype3") == "WAVE" and cube.get("ifu.weighting") == "drizzle"
        part = cube.part
        assert part.data.dtype == np.float32 and part.dq.dtype == np.uint32
        assert part.arrays["wavetable"]["wavelength"].shape == (1, part.data.shape[0], 1)
        # voxels without data are NaN and flagged; those with data are good
        wmap = part.arrays["weightmap"]
        assert np.all(np.isnan(part.data[wmap == 0])) and np.all(part.dq[wmap > 0] == 0)
        assert set(np.unique(part.dq)) <= {0, 513}
        _check_point_source(cube, dataset.truth)


@pytest.mark.parametrize("weighting", ["emsm", "msm"])
def test_miri_pointcloud_weightings_conserve_the_source(mrs, weighting):
    dataset, refs = mrs
    cube = SPEC.run(dataset.exposures, references=refs, weighting=weighting,
                    band="short", channel="1").outputs[0].product
    # the point-cloud kernels smear this undersampled PSF (binned 2 x 16 detector pixels)
    # and lose ~5 % of it, exactly as jwst does (test_cube_build_parity)
    _check_point_source(cube, dataset.truth, max_median=0.08, max_p90=0.1)


def test_built_in_cube_parameters_without_a_reference(mrs):
    dataset, _ = mrs
    result = cube_build(dataset.exposures, weighting="emsm")
    cube = result.outputs[0].product
    assert cube.get("wcsinfo.cdelt3") == pytest.approx(0.001)
    assert np.isfinite(cube.part.data).any()


def test_nirspec_cube_against_the_truth(nrs):
    result = SPEC.run(nrs.exposures)
    assert [o.suffix for o in result.outputs] == ["g395h-f290lp_s3d"]
    # the small NIRSpec simulation bins 16 detector columns (~14 cube planes) in wavelength
    # (spectral lines straddling those bins leave a 4 % tail in a tenth of them)
    _check_point_source(result.outputs[0].product, nrs.truth, block=14, pct=80)


def test_ifualign_rotates_and_nonlinear_grid(mrs):
    dataset, refs = mrs
    aligned = SPEC.run(dataset.exposures, references=refs, coord_system="ifualign",
                       channel="1").outputs[0].product
    assert aligned.get("wcsinfo.pc1_2") != 0.0
    multi = SPEC.run(dataset.exposures, references=refs, output_type="multi").outputs
    assert [o.suffix for o in multi] == ["ch1-2-short_s3d"]
    cube = multi[0].product
    assert cube.get("wcsinfo.ctype3") == "WAVE-TAB" and cube.get("wcsinfo.cdelt3") is None
    assert cube.get("instrument.channel") == "12"
    waves = cube.part.arrays["wavetable"]["wavelength"].ravel()
    assert np.all(np.diff(np.diff(np.log(waves))) < 1e-6)  # constant resolving power


def test_cube_metadata_is_blended_over_its_exposures_as_jwst_does(mrs):
    """One band: its own BAND; several: BAND = MULTIPLE; exposure times summed."""
    dataset, refs = mrs
    exposures = list(dataset.exposures)
    medium = [p.evolve(meta={"instrument.band": "MEDIUM", "exposure.start_time": 60000.0 + i,
                             "filename": p.filename.replace("_mirifu", "_medium_mirifu")})
              for i, p in enumerate(exposures)]
    mixed = exposures + medium
    options = {"weighting": "emsm", "scalew": 0.002}
    bands = SPEC.run(mixed, references=refs, channel="1", **options).outputs
    assert [o.suffix for o in bands] == ["ch1-short_s3d", "ch1-medium_s3d"]
    assert [o.product.get("instrument.band") for o in bands] == ["SHORT", "MEDIUM"]
    assert bands[1].product.get("exposure.start_time") == 60000.0
    total = sum(p.get("exposure.exposure_time") for p in exposures)
    assert bands[0].product.get("exposure.exposure_time") == pytest.approx(total)
    # jwst blends over (band, exposure) pairs: an exposure serving 2 channels counts twice
    for output_type, channels, nbands in (("channel", ["1", "2"], 2), ("multi", ["12"], 4)):
        cubes = [o.product for o in SPEC.run(mixed, references=refs, output_type=output_type,
                                             **options).outputs]
        assert [c.get("instrument.channel") for c in cubes] == channels
        assert all(c.get("instrument.band") == "MULTIPLE" for c in cubes)
        assert all(c.get("instrument.detector") == "MIRIFUSHORT" for c in cubes)
        assert all(c.get("exposure.exposure_time") == pytest.approx(nbands * total)
                   for c in cubes)
        # the inputs' own metadata is untouched
        assert exposures[0].get("instrument.band") == "SHORT"


def test_stored_background_polynomials_are_removed(mrs):
    dataset, refs = mrs
    plain = SPEC.run(dataset.exposures, references=refs, channel="1").outputs[0].product
    poly = {"degree": [0, 0, 0], "refpoint": [0.0, 0.0, 0.0], "coefficients": [0.5],
            "channel": "1"}
    marked = [p.evolve(meta={"background": {"subtracted": False, "polynomial_info": [poly]}})
              for p in dataset.exposures]
    lowered = SPEC.run(marked, references=refs, channel="1").outputs[0].product
    np.testing.assert_allclose(lowered.part.data, plain.part.data - 0.5, atol=1e-5)


# ----------------------------------------------------------------------------- pieces


def test_overlap_area_matches_polygon_clipping():
    rng = np.random.default_rng(3)
    n = 2000
    centre = rng.uniform(-0.15, 0.15, (n, 2))
    angle = rng.uniform(0, np.pi, n)[:, None]
    dx, dy = np.array([-0.1, -0.1, 0.1, 0.1]), np.array([-0.09, 0.09, 0.09, -0.09])
    px = centre[:, :1] + dx * np.cos(angle) - dy * np.sin(angle)
    py = centre[:, 1:] + dx * np.sin(angle) + dy * np.cos(angle)
    box = [np.full(n, v) for v in (-0.065, 0.065, -0.065, 0.065)]
    exact = cube_weights.overlap_area(px, py, *box)
    clipped = cube_weights.clip_area(px, py, *box)
    np.testing.assert_allclose(exact, clipped, rtol=1e-6, atol=1e-10)  # 1e-8 of a spaxel
    assert exact.max() <= 0.13 * 0.13 + 1e-15 and (exact == 0).any()
    # a box inside the polygon, a polygon inside the box
    big = cube_weights.overlap_area(np.array([[-1.0, -1, 1, 1]]), np.array([[-1.0, 1, 1, -1]]),
                                    *[np.array([v]) for v in (-0.1, 0.2, 0.0, 0.5)])
    assert big[0] == pytest.approx(0.15)
    small = cube_weights.overlap_area(np.array([[0.0, 0.1, 0.2, 0.1]]),
                                      np.array([[0.0, 0.1, 0.0, -0.1]]),
                                      *[np.array([v]) for v in (-1.0, 1.0, -1.0, 1.0)])
    assert small[0] == pytest.approx(0.02)


def test_final_dq_holes_and_coverage():
    shape = (1, 5, 5)
    weight = np.ones(25)
    weight[[0, 12, 13]] = 0.0  # a corner voxel and two interior ones without data
    fov = np.zeros(25, dtype=np.int64)
    fov[[12, 13]] = cube_dq.OVERLAP_PARTIAL  # inside an exposure's field: holes
    dq = cube_dq.final_dq(fov, weight, shape)[0]
    assert dq[0, 0] == cube_dq.NO_COVERAGE
    assert dq[2, 2] == 1 and dq[2, 3] == 1  # DO_NOT_USE holes
    assert np.count_nonzero(dq == 0) == 22
    # a hole next to NON_SCIENCE becomes NON_SCIENCE
    weight2 = weight.copy()
    weight2[11] = 0.0
    dq2 = cube_dq.final_dq(fov, weight2, shape)[0]
    assert dq2[2, 1] == cube_dq.NO_COVERAGE and dq2[2, 2] == cube_dq.NO_COVERAGE
    assert dq2[2, 3] == cube_dq.NO_COVERAGE  # converted in turn (jwst's in-place pass)


def test_cube_suffixes_as_jwst_names_them():
    assert cube_geometry.cube_suffix([("1", "short")], "MIRI", "skyalign") == "ch1-short"
    bands = [("1", "long"), ("1", "short"), ("2", "medium")]
    assert cube_geometry.cube_suffix(bands, "MIRI", "skyalign") == "ch1-2-shortmediumlong"
    assert cube_geometry.cube_suffix([("g395h", "f290lp")], "NIRSPEC", "internal_cal") == \
        "g395h-f290lp_internal"


# ----------------------------------------------------------------------------- bad input


def _as_band(products, band):
    """The exposures relabelled as another MIRI band (their pixels unchanged)."""
    return [p.evolve(meta={"instrument": {**p.meta["instrument"], "band": band}})
            for p in products]


def test_mixed_instruments_and_wrong_inputs_are_refused(mrs, nrs):
    dataset, refs = mrs
    exposures = dataset.exposures
    with pytest.raises(ParameterError, match="one instrument"):
        cube_build([*exposures, nrs.exposures[0]], references=refs)
    with pytest.raises(ParameterError, match="IFUImageModel"):
        cube_build([exposures[0].evolve(model_type="ImageModel"), *exposures[1:]],
                   references=refs)
    with pytest.raises(ParameterError, match="unknown parameter"):
        SPEC.run(exposures, references=refs, weighting_type="emsm")


def test_selections_that_match_no_band_are_refused(mrs, nrs):
    dataset, refs = mrs
    with pytest.raises(ParameterError, match="matches no channel/band") as err:
        cube_build(dataset.exposures, references=refs, channel="3")
    assert "('1', 'short')" in str(err.value)  # says what the data hold
    with pytest.raises(ParameterError, match="matches no channel/band"):
        cube_build(dataset.exposures, references=refs, band="long")
    with pytest.raises(ParameterError, match="matches no grating/filter"):
        cube_build(nrs.exposures, grating="g140h", filter="f100lp")
    with pytest.raises(ParameterError, match="both grating and filter"):
        cube_build(nrs.exposures, grating="g395h")


def test_bands_of_different_steps_in_one_linear_cube_are_refused(mrs):
    dataset, refs = mrs
    ch1 = [p for p in dataset.exposures]
    mixed = ch1 + _as_band(ch1, "MEDIUM")  # channel 1 SHORT and MEDIUM in one channel cube
    with pytest.raises(ParameterError, match="different SPECTRALSTEP") as err:
        cube_build(mixed, references=refs, output_type="channel", channel="1")
    assert err.value.name == "override_cubepar"
    # the same request with a common step, or the multi-band table, is fine
    assert cube_geometry.cube_setup([("1", "short"), ("1", "medium")],
                                    cube_geometry.band_files(mixed, "MIRI"), refs["cubepar"],
                                    "MIRI", {**SPEC.defaults(), "scalew": 0.01,
                                             "interpolation": "drizzle"}).spectral_size == 0.01


def test_empty_wavelength_ranges_are_refused(mrs):
    dataset, refs = mrs
    with pytest.raises(ParameterError, match="empty wavelength range") as err:
        cube_build(dataset.exposures, references=refs, wavemin=6.0, wavemax=5.0, channel="1")
    assert err.value.name == "wavemin"
    with pytest.raises(ParameterError, match="empty wavelength range"):
        cube_build(dataset.exposures, references=refs, wavemin=5.2, wavemax=5.2, channel="1")
    # channel 1 SHORT covers 4.90-5.74 um: a range beyond it reaches no pixel
    with pytest.raises(ParameterError, match="outside the data") as err:
        cube_build(dataset.exposures, references=refs, wavemin=20.0, wavemax=21.0,
                   channel="1")
    assert "4.9" in str(err.value)


def test_cubes_above_the_voxel_limit_are_refused_with_a_warning(mrs, caplog):
    dataset, refs = mrs
    param = SPEC.all_params["max_voxels"]
    assert not param.jwst and param.default == 100_000_000
    with caplog.at_level("WARNING"), pytest.raises(ParameterError, match="max_voxels") as e:
        SPEC.run(dataset.exposures, references=refs, max_voxels=1000)
    assert "above the limit of 1,000" in str(e.value)
    assert any("above the limit" in r.getMessage() for r in caplog.records)
    # the plane count alone is checked for every cube before any is built
    with pytest.raises(ParameterError, match=r"\(64,\) = 64 voxels"):
        SPEC.run(dataset.exposures, references=refs, max_voxels=63)
    with pytest.raises(ParameterError, match="max_voxels"):
        SPEC.run(dataset.exposures, references=refs, max_voxels=0)  # below its minimum
    assert SPEC.all_params["max_voxels"].parse("5000000") == 5_000_000


def test_missing_slice_maps_and_wcs_are_refused(mrs, nrs):
    dataset, refs = mrs
    no_map = [p.evolve(parts=[p.part.evolve(drop=["regions"])]) for p in nrs.exposures]
    with pytest.raises(ParameterError, match="slice map"):
        cube_build(no_map)
    with pytest.raises(ParameterError, match="slice map"):
        cube_build(no_map[:1], coord_system="internal_cal")
    # MIRI: no REGIONS and no label mapper in the WCS (drizzle needs the slice numbers)
    bare = [p.evolve(parts=[p.part.evolve(drop=["regions"])]) for p in dataset.exposures]
    with pytest.raises(ParameterError, match="no slice map"):
        cube_build(bare, references=refs, channel="1")
    no_wcs = [p.evolve(parts=[p.part.evolve(wcs=None)]) for p in dataset.exposures]
    with pytest.raises(ParameterError, match="no WCS"):
        cube_build(no_wcs, references=refs)


def test_a_refused_run_writes_nothing(mrs, tmp_path):
    from spec3nb.runner import run_step
    from spec3nb.simulate import write_dataset

    dataset, refs = mrs
    sizes = [o.product.part.data.size for o in SPEC.run(dataset.exposures,
                                                         references=refs).outputs]
    asn = write_dataset(dataset, tmp_path / "in")
    out = tmp_path / "out"
    cubepar = str(tmp_path / "in" / CUBEPAR_NAME)
    # a limit that lets one of the two cubes through and stops the other
    with pytest.raises(ParameterError, match="max_voxels"):
        run_step("cube_build", [asn], out, {"max_voxels": min(sizes),
                                            "override_cubepar": cubepar})
    assert not out.exists() or not any(out.iterdir())
    # the same run within the limit writes its two cubes
    _, written = run_step("cube_build", [asn], out, {"override_cubepar": cubepar})
    assert sorted(p.name.split("_")[-2] for p in written) == ["ch1-short", "ch2-short"]


def test_cubes_built_side_by_side_equal_cubes_built_in_turn(mrs, monkeypatch):
    from spec3nb.steps import cube_build as module

    dataset, refs = mrs
    monkeypatch.setattr(module, "CUBE_THREADS", 2)
    parallel = SPEC.run(dataset.exposures, references=refs)
    monkeypatch.setattr(module, "CUBE_THREADS", 1)
    serial = SPEC.run(dataset.exposures, references=refs)
    assert len(parallel.outputs) == len(serial.outputs) == 2
    for a, b in zip(parallel.outputs, serial.outputs, strict=True):
        assert a.suffix == b.suffix
        for name, array in a.product.part.arrays.items():
            other = b.product.part.arrays[name]
            if array.dtype.names:  # the wavelength table
                assert all(np.array_equal(array[f], other[f]) for f in array.dtype.names)
            else:
                assert np.array_equal(array, other, equal_nan=True), name
