"""Every product type spec3 reads or writes survives a write and a read, and opens elsewhere.

For each type: ``write_product`` then (a) stdatamodels opens it as the right class with its
WCS and values, (b) ``read_product`` gives back the same arrays, attributes, metadata and
WCS, (c) the file has the HDUs of the JWST format. Then (d) specutils' JWST loaders read the
spectral products with the right fluxes, units and spectral axis, and (e) jwst 3.0.0 steps
run on our files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import Product, read_product, write_product
from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.tables import column_units
from spec3nb.errors import OutputError
from tests import factories as fx
from tests.parity.harness import assert_arrays_match, assert_products_match, run_jwst_step


def _crf(product: Product) -> Product:
    """What outlier_detection writes: flagged pixels NaN with OUTLIER | DO_NOT_USE."""
    parts = []
    for part in product.parts:
        dq = part.dq.copy()
        data = part.data.copy()
        hit = (slice(None),) * (data.ndim - 2) + (slice(2, 4), slice(3, 5))
        dq[hit] |= 1 | 16
        data[hit] = np.nan
        parts.append(part.evolve(arrays={"data": data, "dq": dq}))
    return product.evolve(parts=parts, meta={"cal_step.outlier_detection": "COMPLETE"})


#: name -> (builder, DATAMODL)
CASES: Mapping[str, tuple[Callable[[], Product], str]] = {
    "nrs_fs_cal": (lambda: fx.make_multislit("NRS_FIXEDSLIT", 2), "MultiSlitModel"),
    "nrs_mos_cal": (lambda: fx.make_multislit("NRS_MSASPEC", 3), "MultiSlitModel"),
    "nis_wfss_cal": (lambda: fx.make_multislit("NIS_WFSS", 2), "MultiSlitModel"),
    "lrs_cal": (fx.make_slit_model, "SlitModel"),
    "lrs_image_cal": (fx.make_image_model, "ImageModel"),
    "mrs_cal": (fx.make_ifu_image, "IFUImageModel"),
    "nrs_ifu_crf": (lambda: _crf(fx.make_ifu_image("NRS_IFU")), "IFUImageModel"),
    "soss_calints": (fx.make_soss_cube, "CubeModel"),
    "background_x1d": (
        lambda: fx.make_x1d(source_type="EXTENDED", **{"observation.bkgdtarg": True}),
        "MultiSpecModel",
    ),
    "source_cal": (fx.make_multiexposure, "MultiExposureModel"),
    "source_crf": (lambda: _crf(fx.make_multiexposure()), "MultiExposureModel"),
    "lrs_crf": (lambda: _crf(fx.make_slit_model()), "SlitModel"),
    "s2d": (fx.make_s2d, "SlitModel"),
    "s3d": (fx.make_s3d, "IFUCubeModel"),
    "x1d": (lambda: fx.make_x1d(3), "MultiSpecModel"),
    "mrs_x1d": (lambda: fx.make_x1d(2, mrs=True), "MRSMultiSpecModel"),
    "wfss_x1d": (fx.make_wfss_x1d, "WFSSMultiSpecModel"),
    "c1d": (fx.make_c1d, "MultiCombinedSpecModel"),
    "wfss_c1d": (fx.make_wfss_c1d, "WFSSMultiCombinedSpecModel"),
}

#: Array name -> EXTNAME (JWST format, reference section 4).
EXTNAMES = {
    "data": "SCI", "dq": "DQ", "err": "ERR", "wavelength": "WAVELENGTH", "wht": "WHT",
    "con": "CON", "var_poisson": "VAR_POISSON", "var_rnoise": "VAR_RNOISE",
    "var_flat": "VAR_FLAT", "regions": "REGIONS", "weightmap": "WMAP",
    "wavetable": "WCS-TABLE", "int_times": "INT_TIMES",
}

#: Exact HDU lists of the spec3 products (reference sections 4.4 to 4.7).
EXACT_HDUS = {
    "s2d": ["PRIMARY", "SCI", "ERR", "WAVELENGTH", "WHT", "CON", "VAR_POISSON", "VAR_RNOISE",
            "VAR_FLAT", "ASDF"],
    "s3d": ["PRIMARY", "SCI", "ERR", "DQ", "WMAP", "WCS-TABLE", "ASDF"],
    "x1d": ["PRIMARY", "EXTRACT1D", "EXTRACT1D", "EXTRACT1D", "ASDF"],
    "wfss_x1d": ["PRIMARY", "EXTRACT1D", "EXTRACT1D", "ASDF"],
    "c1d": ["PRIMARY", "COMBINE1D", "ASDF"],
    "wfss_c1d": ["PRIMARY", "COMBINE1D", "ASDF"],
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Product, Path]]:
    """Every case built once and written once."""
    folder = tmp_path_factory.mktemp("roundtrip")
    out = {}
    for name, (build, _) in CASES.items():
        product = build()
        out[name] = (product, write_product(product, folder / f"{name}.fits"))
    return out


def _open(path: Path) -> Any:
    from stdatamodels.jwst import datamodels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return datamodels.open(str(path))


# ----------------------------------------------------------------------------- (a)


@pytest.mark.parametrize("case", sorted(CASES))
def test_stdatamodels_opens_right_class_with_wcs(case: str, written) -> None:
    product, path = written[case]
    with _open(path) as model:
        assert type(model).__name__ == CASES[case][1]
        assert model.meta.telescope == "JWST"
        items = getattr(model, product.is_multi and _list_key(product) or "", None) or [model]
        assert len(items) == len(product.parts)
        for item, part in zip(items, product.parts, strict=True):
            node = item if product.is_multi else model
            if part.wcs is not None:
                assert node.meta.wcs is not None
                _assert_same_world(part.wcs, node.meta.wcs)
            for key, array in part.arrays.items():
                _assert_equal_array(getattr(node, key), array, f"{case}.{key}")


def _list_key(product: Product) -> str:
    from spec3nb.datamodels.products import PART_LISTS

    return PART_LISTS[product.model_type]


def _assert_equal_array(got: Any, want: np.ndarray, name: str) -> None:
    got = np.asarray(got)
    if want.dtype.names:
        assert got.dtype.names == want.dtype.names, name
        for col in want.dtype.names:
            _assert_equal_array(got[col], want[col], f"{name}.{col}")
    elif want.dtype.kind in "SU":
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        assert got.dtype.newbyteorder("=") == want.dtype, f"{name}: {got.dtype} != {want.dtype}"
        assert_arrays_match(got, want, rtol=0, atol=0, name=name)


def _sample_pixels(wcs: Any) -> tuple[np.ndarray, ...]:
    n = wcs.forward_transform.n_inputs
    if wcs.bounding_box is None:  # a 1-D spectrum WCS
        bounds = [(0.0, 10.0)] * n
    else:
        bbox = wcs.bounding_box.bounding_box(order="F")
        bounds = [bbox] if n == 1 else list(bbox)
    axes = [np.linspace(lo + 0.5, hi - 0.5, 4) for lo, hi in bounds]
    return tuple(a.ravel() for a in np.meshgrid(*axes, indexing="ij"))


def _assert_same_world(ours: Any, theirs: Any) -> None:
    pixels = _sample_pixels(ours)
    for k, (a, b) in enumerate(zip(ours(*pixels), theirs(*pixels), strict=True)):
        assert_arrays_match(b, a, rtol=1e-12, atol=1e-12, name=f"world axis {k}")
    assert ours.output_frame.unit == theirs.output_frame.unit


# ----------------------------------------------------------------------------- (b)


def _assert_meta_contains(got: Mapping[str, Any], want: Mapping[str, Any], where: str) -> None:
    for key, value in want.items():
        assert key in got, f"{where}.{key} missing after reading"
        if isinstance(value, Mapping):
            _assert_meta_contains(got[key], value, f"{where}.{key}")
        else:
            assert got[key] == value, f"{where}.{key}: {got[key]!r} != {value!r}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_read_product_gives_back_the_product(case: str, written) -> None:
    product, path = written[case]
    back = read_product(path)
    assert back.model_type == product.model_type
    assert_products_match(back, product, rtol=0, atol=0)
    _assert_meta_contains(back.meta, product.meta, "meta")
    assert back.filename == path.name
    for i, (got, want) in enumerate(zip(back.parts, product.parts, strict=True)):
        _assert_meta_contains(got.attrs, want.attrs, f"part {i}")
        _assert_meta_contains(got.meta, want.meta, f"part {i}.meta")
        for key, array in want.arrays.items():
            assert got.arrays[key].dtype.newbyteorder("=") == array.dtype, f"{case}.{key}"
            if array.dtype.names:
                assert column_units(got.arrays[key]) == column_units(array)
        assert (got.wcs is None) == (want.wcs is None)
        if want.wcs is not None:
            _assert_same_world(want.wcs, got.wcs)


# ----------------------------------------------------------------------------- (c)


def _expected_hdus(product: Product) -> set[tuple[str, int]]:
    expected = {("PRIMARY", 1), ("ASDF", 1)}
    table_hdu = "COMBINE1D" if "Combined" in product.model_type else "EXTRACT1D"
    for i, part in enumerate(product.parts):
        ver = i + 1 if product.is_multi else 1
        for key in part.arrays:
            expected.add((table_hdu if key == "spec_table" else EXTNAMES[key], ver))
    return expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_hdu_layout(case: str, written) -> None:
    product, path = written[case]
    with fits.open(path) as hdul:
        names = [hdu.name for hdu in hdul]
        found = {(hdu.name, hdu.ver if i else 1) for i, hdu in enumerate(hdul)}
        header = hdul[0].header
        assert header["TELESCOP"] == "JWST"
        assert header["DATAMODL"] == CASES[case][1]
        assert names[0] == "PRIMARY" and names[-1] == "ASDF"
        assert found == _expected_hdus(product)
        if case in EXACT_HDUS:
            assert names == EXACT_HDUS[case]
        if "SCI" in hdul:
            assert hdul["SCI"].header["BITPIX"] == -32
        if "DQ" in hdul:
            assert hdul["DQ"].header["BITPIX"] == 32 and hdul["DQ"].header["BZERO"] == 2**31


def test_s3d_wcs_table_and_ifu_keywords(written) -> None:
    product, path = written["s3d"]
    with fits.open(path) as hdul:
        column = hdul["WCS-TABLE"].columns["wavelength"]
        assert column.format == f"{product.part.data.shape[0]}E"
        assert column.dim == f"(1,{product.part.data.shape[0]})"
        assert hdul[0].header["FLUXEXT"] == "SCI" and hdul[0].header["MASKEXT"] == "DQ"
        assert hdul["ERR"].header["ERRTYPE"] == "ERR"
        assert hdul["SCI"].header["BUNIT"] == "MJy/sr"


def test_x1d_table_units_and_keywords(written) -> None:
    product, path = written["x1d"]
    with fits.open(path) as hdul:
        table = hdul["EXTRACT1D", 2]
        units = {c.name: c.unit for c in table.columns}
        assert units["WAVELENGTH"] == "um" and units["FLUX"] == "Jy"
        assert units["SURF_BRIGHT"] == "MJy/sr" and units["SB_VAR_FLAT"] == "MJy^2 / sr^2"
        assert units["DQ"] is None and units["NPIXELS"] is None
        assert table.columns["DQ"].format == "J" and table.columns["DQ"].bzero == 2**31
        assert table.header["SLTNAME"] == product.parts[1].attrs["name"]
        assert table.header["SRCTYPE"] == "POINT"


# ----------------------------------------------------------------------------- safety


def test_write_leaves_product_unchanged_and_refuses_overwrite(tmp_path: Path) -> None:
    product = fx.make_x1d(2)
    before = {k: v.copy() for k, v in product.parts[0].arrays.items()}
    meta_before = metatools.thaw(product.meta)
    path = write_product(product, tmp_path / "a_x1d.fits")
    assert metatools.thaw(product.meta) == meta_before
    for key, array in before.items():
        _assert_equal_array(product.parts[0].arrays[key], array, key)
    assert not product.parts[0].table.flags.writeable
    stamp = path.stat().st_mtime_ns
    with pytest.raises(OutputError, match="exists"):
        write_product(fx.make_x1d(1), path)
    assert path.stat().st_mtime_ns == stamp
    assert len(read_product(path).parts) == 2
    write_product(fx.make_x1d(1), path, overwrite=True)
    assert len(read_product(path).parts) == 1


def test_killed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_save(self: Any, path: str, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"SIMPLE  =                    T" + b" " * 100)
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(fits.HDUList, "writeto", half_save)
    target = tmp_path / "out" / "jw_s2d.fits"
    with pytest.raises(KeyboardInterrupt):
        write_product(fx.make_s2d(), target)
    assert not target.exists()
    assert os.listdir(target.parent) == []


# ----------------------------------------------------------------------------- (d)


def _specutils_read(path: Path, fmt: str, multi: bool = False) -> Any:
    from specutils import Spectrum, SpectrumList

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (SpectrumList if multi else Spectrum).read(str(path), format=fmt)


@pytest.mark.parametrize(("case", "flux_col", "unit"), [
    ("x1d", "FLUX", "Jy"), ("background_x1d", "SURF_BRIGHT", "MJy / sr")])
def test_specutils_reads_x1d(case: str, flux_col: str, unit: str, written) -> None:
    product, path = written[case]
    fmt = "JWST x1d multi" if len(product.parts) > 1 else "JWST x1d"
    spectra = _specutils_read(path, fmt, multi=len(product.parts) > 1)
    spectra = spectra if isinstance(spectra, list) else [spectra]
    assert len(spectra) == len(product.parts)
    for spectrum, part in zip(spectra, product.parts, strict=True):
        assert spectrum.flux.unit.to_string() == unit
        assert spectrum.spectral_axis.unit.to_string() == "um"
        assert_arrays_match(spectrum.flux.value, part.table[flux_col], rtol=0)
        assert_arrays_match(spectrum.spectral_axis.value, part.table["WAVELENGTH"], rtol=0)


def test_specutils_reads_c1d(written) -> None:
    product, path = written["c1d"]
    spectrum = _specutils_read(path, "JWST c1d")
    table = product.part.table
    assert spectrum.flux.unit.to_string() == "Jy"
    assert_arrays_match(spectrum.flux.value, table["FLUX"], rtol=0)
    assert_arrays_match(spectrum.uncertainty.array, table["ERROR"], rtol=0)
    assert_arrays_match(spectrum.spectral_axis.to_value("um"), table["WAVELENGTH"], rtol=0)


@pytest.mark.parametrize(("case", "fmt", "error"), [
    ("wfss_x1d", "JWST x1d multi", "FLUX_ERROR"), ("wfss_c1d", "JWST c1d multi", "ERROR")])
def test_specutils_reads_wfss_tables(case: str, fmt: str, error: str, written) -> None:
    product, path = written[case]
    spectra = _specutils_read(path, fmt, multi=True)
    rows = [(part.table, j) for part in product.parts for j in range(len(part.table))]
    assert len(spectra) == len(rows)
    for spectrum, (table, j) in zip(spectra, rows, strict=True):
        n = int(table["N_ALONGDISP"][j])
        point = table["SOURCE_TYPE"][j] == b"POINT"
        col = "FLUX" if point else "SURF_BRIGHT"
        assert spectrum.flux.unit.to_string() == ("Jy" if point else "MJy / sr")
        assert int(spectrum.meta["source_id"]) == int(table["SOURCE_ID"][j])
        assert_arrays_match(spectrum.flux.value, table[col][j, :n], rtol=0)
        assert_arrays_match(spectrum.spectral_axis.value, table["WAVELENGTH"][j, :n], rtol=0)
        if point:
            assert_arrays_match(spectrum.uncertainty.array, table[error][j, :n], rtol=0)


def test_specutils_reads_s2d(written) -> None:
    product, path = written["s2d"]
    spectrum = _specutils_read(path, "JWST s2d")
    assert spectrum.flux.unit.to_string() == "MJy / sr"
    assert_arrays_match(spectrum.flux.value, product.part.data, rtol=0)
    assert_arrays_match(spectrum.spectral_axis.to_value("um"),
                        product.part.arrays["wavelength"][0], rtol=1e-6)


def test_specutils_reads_s3d(written) -> None:
    product, path = written["s3d"]
    spectrum = _specutils_read(path, "JWST s3d")
    part = product.part
    assert spectrum.flux.unit.to_string() == "MJy / sr"
    assert_arrays_match(spectrum.flux.value, part.data, rtol=0)
    assert_arrays_match(spectrum.uncertainty.array, part.err, rtol=0)
    np.testing.assert_array_equal(spectrum.mask != 0, part.dq != 0)
    wave = part.arrays["wavetable"]["wavelength"][0].ravel()
    assert_arrays_match(spectrum.spectral_axis.to_value("um"), wave, rtol=1e-6)


# ----------------------------------------------------------------------------- (e)

_NO_REFS = {"override_extract1d": "N/A", "override_apcorr": "N/A", "override_psf": "N/A"}


def test_jwst_extract_1d_runs_on_our_s2d(written) -> None:
    from jwst.extract_1d import Extract1dStep

    product, path = written["s2d"]
    x1d = run_jwst_step(Extract1dStep, path, **_NO_REFS)
    table, data = x1d.part.table, product.part.data
    assert x1d.model_type == "MultiSpecModel" and x1d.part.attrs["name"] == "S200A1"
    # An extended source with no reference: the whole slit, an average per column.
    assert_arrays_match(table["WAVELENGTH"], product.part.arrays["wavelength"][0], rtol=1e-6)
    assert_arrays_match(table["SURF_BRIGHT"], data.mean(axis=0), rtol=1e-5)
    assert_arrays_match(table["NPIXELS"], np.full(data.shape[1], data.shape[0]), rtol=0)
    assert column_units(table)["SURF_BRIGHT"] == "MJy/sr"


def _ifu_extract1d_reference(path: Path) -> Path:
    """The smallest EXTRACT1D reference an IFU cube extraction accepts (ASDF)."""
    from stdatamodels.jwst import datamodels

    ref = datamodels.Extract1dIFUModel()
    for key, value in {"reftype": "extract1d", "author": "spec3nb tests", "pedigree": "DUMMY",
                       "description": "test", "useafter": "2000-01-01T00:00:00"}.items():
        setattr(ref.meta, key, value)
    ref.meta.instrument.name = "MIRI"
    ref.meta.exposure.type = "MIR_MRS"
    ref.meta.subtract_background, ref.meta.method, ref.meta.subpixels = False, "exact", 10
    ones = np.ones(2, np.float32)
    ref.data = {"wavelength": np.array([4.0, 30.0], np.float32), "radius": 0.5 * ones,
                "inner_bkg": ones, "outer_bkg": 1.5 * ones, "axis_ratio": ones,
                "axis_pa": 0 * ones}
    ref.save(str(path))
    return path


def test_jwst_extract_1d_runs_on_our_s3d(written, tmp_path: Path) -> None:
    from jwst.extract_1d import Extract1dStep

    product, path = written["s3d"]
    ref = _ifu_extract1d_reference(tmp_path / "extract1d_ifu.asdf")
    x1d = run_jwst_step(Extract1dStep, path, override_extract1d=str(ref),
                        override_apcorr="N/A", override_psf="N/A", ifu_rfcorr=False)
    table, data = x1d.part.table, product.part.data
    assert x1d.model_type == "MRSMultiSpecModel"
    wave = product.part.arrays["wavetable"]["wavelength"][0].ravel()
    assert_arrays_match(table["WAVELENGTH"], wave, rtol=1e-6)
    assert_arrays_match(table["SURF_BRIGHT"], np.nanmean(data, axis=(1, 2)), rtol=1e-5)
    assert column_units(table)["FLUX"] == "Jy"


def test_jwst_combine_1d_runs_on_our_wfss_x1d(written) -> None:
    from jwst.combine_1d import Combine1dStep

    product, path = written["wfss_x1d"]
    c1d = run_jwst_step(Combine1dStep, path)
    assert c1d.model_type == "WFSSMultiCombinedSpecModel"
    table = c1d.part.table
    first, second = (part.table for part in product.parts)
    np.testing.assert_array_equal(table["SOURCE_ID"], first["SOURCE_ID"])
    for j in range(len(table)):
        n = int(first["N_ALONGDISP"][j])
        assert int(table["N_ALONGDISP"][j]) == n
        expected = (first["FLUX"][j, :n] + second["FLUX"][j, :n]) / 2  # equal exposure times
        assert_arrays_match(table["FLUX"][j, :n], expected, rtol=1e-10, name=f"source {j}")
        assert_arrays_match(table["N_INPUT"][j, :n], np.full(n, 2.0), rtol=0)


def test_jwst_resample_spec_runs_on_our_lrs_cal(tmp_path: Path) -> None:
    from jwst.resample import ResampleSpecStep

    cals = [fx.make_slit_model(seed=s, **{"dither.position_number": s}) for s in (1, 2)]
    paths = [write_product(c, tmp_path / f"lrs{i}_cal.fits") for i, c in enumerate(cals)]
    s2d = run_jwst_step(ResampleSpecStep, paths, save_to=tmp_path / "lrs_s2d.fits")
    assert s2d.model_type == "SlitModel" and s2d.get("cal_step.resample") == "COMPLETE"
    part = s2d.part
    wave_in = cals[0].part.arrays["wavelength"]
    wave_out = part.arrays["wavelength"][:, part.data.shape[1] // 2]
    step = abs(float(np.diff(wave_in[:, 0]).mean()))
    assert abs(np.nanmax(wave_out) - wave_in.max()) < 1.5 * step
    assert abs(np.nanmin(wave_out) - wave_in.min()) < 1.5 * step
    level = np.nanmean([np.nanmean(c.part.data) for c in cals])
    assert abs(np.nanmean(part.data) / level - 1) < 1e-3
    spectrum = _specutils_read(tmp_path / "lrs_s2d.fits", "JWST s2d")
    assert spectrum.flux.shape == part.data.T.shape


def test_jwst_outlier_detection_runs_on_our_lrs_cal(tmp_path: Path) -> None:
    from jwst.outlier_detection import OutlierDetectionStep

    cals = [fx.make_slit_model(seed=s, **{"dither.position_number": s}) for s in (1, 2, 3)]
    hit = (30, 12)
    data = cals[1].part.data.copy()
    data[hit] += 500.0
    cals[1] = cals[1].evolve(parts=[cals[1].part.evolve(arrays={"data": data})])
    paths = [write_product(c, tmp_path / f"lrs{i}_cal.fits") for i, c in enumerate(cals)]
    crfs = run_jwst_step(OutlierDetectionStep, paths, in_memory=True)
    assert [c.model_type for c in crfs] == ["SlitModel"] * 3
    for i, (crf, cal) in enumerate(zip(crfs, cals, strict=True)):
        new = (crf.part.dq & 16) != 0
        assert new.any() == (i == 1), f"exposure {i}: {int(new.sum())} outliers"
        assert np.isnan(crf.part.data[new]).all()
        kept = ~new
        assert_arrays_match(crf.part.data[kept], cal.part.data[kept], rtol=0, name=f"exp {i}")
    assert (crfs[1].part.dq[hit] & 17) == 17
