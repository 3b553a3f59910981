"""master_background against jwst 3.0.0's MasterBackgroundStep on the same inputs.

Inputs: the simulator's MIRI LRS nod and dedicated-background sets and its NIRSpec FS and
MOS sets, plus factory products for the NIRSpec FS point-source correction and for FS
slits inside MOS exposures; and the simulator's MIRI MRS and NIRSpec IFU sets with
dedicated backgrounds (:func:`simulated_ifu`).
Compared: SCI, ERR, VAR_* and DQ of every ``_mbsub`` product
(identical NaN patterns; SCI/ERR/VAR within 1e-6 relative, well inside the issue's 1e-5 at
the median and 1e-3 at the 99th percentile), ``MASTERBG``, ``S_MSBSUB`` and, with
``save_background``, the 1-D master spectrum and the 2-D backgrounds jwst writes.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import Part, Product, read_product, tables, write_product
from spec3nb.steps.master_background import master_background
from tests.factories import make_multislit, make_x1d

from .harness import assert_arrays_match, assert_dq_match, assert_tables_match, run_jwst_step

ARRAYS = ("data", "err", "var_poisson", "var_rnoise", "var_flat")
POINT_ARRAYS = ("pathloss_point", "pathloss_uniform", "flatfield_point",
                "flatfield_uniform", "photom_point", "photom_uniform")


def _tag(products, exptype: str) -> list[Product]:
    return [p.evolve(meta={"asn.exptype": exptype}) for p in products]


@functools.cache
def simulated(mode: str, background: str) -> tuple[Product, ...]:
    """Science then background members of a simulated set."""
    from spec3nb.simulate import simulate

    ds = simulate(mode, seed=3, background=background)
    return tuple(_tag(ds.exposures, "science") + _tag(ds.backgrounds, "background"))


@functools.cache
def simulated_ifu(mode: str) -> tuple[Product, ...]:
    """Science then background members of a simulated IFU set with dedicated backgrounds.

    The simulator writes what jwst needs here: NIRSpec IFU exposures whose WCS has the
    archive form (a slice-map ``RegionsSelector`` from detector to slicer, which jwst's
    ``nrs_ifu_wcs`` reads) and background ``_x1d`` members with the sky in ``BACKGROUND``,
    as jwst's extract_1d writes an extended IFU source.
    """
    from spec3nb.simulate import simulate

    ds = simulate(mode, seed=3, background="dedicated")
    return tuple(_tag(ds.exposures, "science") + _tag(ds.backgrounds, "background"))


def with_pathloss_arrays(product: Product, seed: int = 0) -> Product:
    """A NIRSpec IFU exposure with slowly varying point/uniform pathloss arrays."""
    rng = np.random.default_rng(seed)
    shape = product.part.data.shape
    ramp = np.linspace(0.0, 1.0, shape[-1])[None, :] * np.ones(shape)
    arrays = {name: (0.5 + 0.4 * ramp + 0.05 * rng.random(shape)).astype(np.float32)
              for name in ("pathloss_point", "pathloss_uniform")}
    arrays["pathloss_point"][3, 5] = 0.0  # a division by zero, as jwst allows
    return product.evolve(parts=[product.part.evolve(arrays=arrays)])


def with_point_source_arrays(product: Product, seed: int = 0) -> Product:
    """`product` with the six correction arrays on its POINT slits (slowly varying)."""
    rng = np.random.default_rng(seed)
    parts = []
    for part in product.parts:
        if part.attrs.get("source_type") == "POINT":
            shape = part.data.shape
            ramp = np.linspace(0.0, 1.0, shape[-1])[None, :] * np.ones(shape)
            extra = {name: (0.6 + 0.3 * ramp + 0.05 * rng.random(shape)).astype(np.float32)
                     for name in POINT_ARRAYS}
            extra["pathloss_point"][0, 0] = 0.0  # a division by zero, as jwst allows
            part = part.evolve(arrays=extra)
        parts.append(part)
    return product.evolve(parts=parts)


def mos_with_fixed_slit() -> tuple[Product, ...]:
    """Two MOS exposures whose second slit is a fixed slit holding a point source."""
    exposures = []
    for seed in (1, 2):
        exposure = with_point_source_arrays(make_multislit("NRS_MSASPEC", 3, seed=seed))
        parts = list(exposure.parts)
        parts[1] = parts[1].evolve(meta={"exposure.type": "NRS_FIXEDSLIT"},
                                   attrs={"name": "S200A1"})
        exposures.append(exposure.evolve(parts=parts))
    background = make_x1d(npoints=40, wave_shift=-2.12, seed=5,
                          **{"observation.bkgdtarg": True})
    return tuple(_tag(exposures, "science") + _tag([background], "background"))


def user_spectrum(path: Path, wave_range: tuple[float, float] = (6.0, 11.0),
                  exp_type: str = "MIR_LRS-FIXEDSLIT") -> Product:
    """A user background covering only part of the science band, written to `path`."""
    wave = np.linspace(*wave_range, 120)
    sb = 8.0 + 0.4 * np.sin(wave)
    table = tables.spec_table(wave, units=tables.spectrum_units(True, False),
                              surf_bright=sb, flux=sb * 1e-3, dq=np.zeros(wave.size, "u4"))
    meta = {"exposure": {"type": exp_type, "exposure_time": 100.0},
            "telescope": "JWST"}
    spectrum = tables.spectrum_product([Part(arrays={"spec_table": table})], meta)
    write_product(spectrum, path)
    return read_product(path)


def with_status(products, **status) -> tuple[Product, ...]:
    return tuple(p.evolve(meta={f"cal_step.{k}": v for k, v in status.items()})
                 if p.get("asn.exptype") == "science" else p for p in products)


def assert_same_subtracted(ours: list[Product], theirs: list[Product]) -> dict[str, float]:
    """Compare the science outputs; return the largest relative difference per array."""
    assert len(ours) == len(theirs)
    worst: dict[str, float] = {}
    for mine, jwst in zip(ours, theirs, strict=True):
        assert mine.model_type == jwst.model_type
        for path in ("cal_step.master_background", "background.master_background_file"):
            assert mine.get(path) == jwst.get(path), path
        for k, (po, pt) in enumerate(zip(mine.parts, jwst.parts, strict=True)):
            for name in ARRAYS:
                if name in pt.arrays:
                    a, b = po.arrays[name], pt.arrays[name]
                    assert_arrays_match(a, b, rtol=1e-6, atol=1e-30, name=f"part {k} {name}")
                    worst[name] = max(worst.get(name, 0.0), _max_relative(a, b))
            assert_dq_match(po.dq, pt.dq, name=f"part {k} dq")
    return worst


def _max_relative(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(b) & (b != 0)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.abs(b[ok]), initial=0.0))


def run_both(inputs, **params):
    from jwst.master_background import MasterBackgroundStep

    ours = master_background(list(inputs), **params)
    theirs = run_jwst_step(MasterBackgroundStep, list(inputs), **params)
    return ours, theirs


CASES = {
    "LRS nod, defaults": (("mir_lrs", "nod"), {}),
    "LRS dedicated, defaults": (("mir_lrs", "dedicated"), {}),
    "LRS nod, median_kernel=5": (("mir_lrs", "nod"), {"median_kernel": 5}),
    "LRS dedicated, median_kernel=4": (("mir_lrs", "dedicated"), {"median_kernel": 4}),
    "FS dedicated, defaults": (("nrs_fs", "dedicated"), {}),
    "FS dedicated, median_kernel=7": (("nrs_fs", "dedicated"), {"median_kernel": 7}),
    "MOS dedicated (zero background)": (("nrs_mos", "dedicated"), {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_as_jwst(case: str, jwst_offline) -> None:
    which, params = CASES[case]
    inputs = simulated(*which)
    ours, theirs = run_both(inputs, **params)
    assert ours.status == "COMPLETE"
    assert_same_subtracted(list(ours.products), theirs)
    science = [p for p in inputs if p.get("asn.exptype") == "science"]
    assert [o.origin for o in ours.outputs] == [inputs.index(p) for p in science]
    if which[0] == "nrs_mos":
        for before, after in zip(science, ours.products, strict=True):
            for pb, pa in zip(before.parts, after.parts, strict=True):
                np.testing.assert_array_equal(pa.data, pb.data)


def test_nirspec_fs_point_source_correction(jwst_offline) -> None:
    inputs = list(simulated("nrs_fs", "dedicated"))
    inputs = [with_point_source_arrays(p, i) if p.get("asn.exptype") == "science" else p
              for i, p in enumerate(inputs)]
    ours, theirs = run_both(inputs)
    assert_same_subtracted(list(ours.products), theirs)
    # The correction did change the point-source slit's background.
    plain, _ = run_both(simulated("nrs_fs", "dedicated"))
    assert not np.allclose(plain.products[0].parts[0].data, ours.products[0].parts[0].data,
                           equal_nan=True)


def test_fixed_slits_inside_mos_exposures(tmp_path: Path, monkeypatch, jwst_offline) -> None:
    monkeypatch.chdir(tmp_path)  # jwst writes the saved backgrounds there
    inputs = mos_with_fixed_slit()
    ours, theirs = run_both(inputs, save_background=True)
    assert_same_subtracted([o.product for o in ours.outputs if o.suffix == "mbsub"], theirs)
    backgrounds = [o.product for o in ours.outputs if o.suffix == "masterbg2d"]
    assert all((b.parts[0].data == 0).all() for b in backgrounds)  # MOS slit: none
    assert all((b.parts[1].data != 0).any() for b in backgrounds)  # the fixed slit: some


def test_user_background(tmp_path: Path, jwst_offline) -> None:
    path = tmp_path / "user_bkg_x1d.fits"
    loaded = user_spectrum(path)
    inputs = simulated("mir_lrs", "nod")
    from jwst.master_background import MasterBackgroundStep

    ours = master_background(list(inputs), user_background=loaded)
    theirs = run_jwst_step(MasterBackgroundStep, list(inputs), user_background=str(path))
    assert_same_subtracted(list(ours.products), theirs)
    assert ours.products[0].get("background.master_background_file") == path.name
    # Part of the band is outside the user spectrum: DO_NOT_USE there, in both.
    assert (ours.products[0].part.dq & 1).sum() > (inputs[0].part.dq & 1).sum()


@pytest.mark.parametrize("force", [False, True])
def test_already_subtracted(force: bool, jwst_offline) -> None:
    inputs = with_status(simulated("mir_lrs", "nod"), bkg_subtract="COMPLETE")
    ours, theirs = run_both(inputs, force_subtract=force)
    assert ours.status == ("COMPLETE" if force else "SKIPPED")
    if force:
        assert_same_subtracted(list(ours.products), theirs)
    else:
        science = [p for p in theirs if p.get("asn.exptype") == "science"]
        assert_same_subtracted(list(ours.products), science)
        assert ours.products[0].get("cal_step.master_background") == "SKIPPED"


def test_save_background(tmp_path: Path, monkeypatch, jwst_offline) -> None:
    monkeypatch.chdir(tmp_path)
    inputs = simulated("mir_lrs", "dedicated")
    ours, theirs = run_both(inputs, save_background=True, median_kernel=3)
    assert [o.suffix for o in ours.outputs] == ["mbsub", "mbsub", "masterbg1d",
                                                "masterbg2d", "masterbg2d"]
    assert_same_subtracted(list(ours.products[:2]), theirs)
    (path_1d,) = sorted(tmp_path.glob("*masterbg1d*.fits"))
    master = read_product(path_1d)
    assert_tables_match(ours.outputs[2].product.parts[0].table, master.parts[0].table,
                        rtol=1e-12)
    paths_2d = sorted(tmp_path.glob("*masterbg2d*.fits"))
    assert len(paths_2d) == 2
    for output, path in zip(ours.outputs[3:], paths_2d, strict=True):
        jwst_2d = read_product(path)
        assert_arrays_match(output.product.part.data, jwst_2d.part.data, rtol=1e-7,
                            name=path.name)
        assert_dq_match(output.product.part.dq, jwst_2d.part.dq, name=path.name)


# ---------------------------------------------------------------------------- IFU (issue 5)

IFU_CASES = {
    "MRS, defaults": ("mir_mrs", {}, {}),
    "MRS, median_kernel=5": ("mir_mrs", {"median_kernel": 5}, {}),
    "MRS, median_kernel=4 (rounded down)": ("mir_mrs", {"median_kernel": 4}, {}),
    "MRS, already subtracted, force_subtract": (
        "mir_mrs", {"force_subtract": True}, {"bkg_subtract": "COMPLETE"}),
    "MRS, already subtracted, skipped": ("mir_mrs", {}, {"master_background": "COMPLETE"}),
    "NRS IFU, defaults": ("nrs_ifu", {}, {}),
    "NRS IFU, median_kernel=3": ("nrs_ifu", {"median_kernel": 3}, {}),
    "NRS IFU, already subtracted, force_subtract": (
        "nrs_ifu", {"force_subtract": True}, {"bkg_subtract": "COMPLETE"}),
}


@pytest.mark.parametrize("case", list(IFU_CASES))
def test_ifu_same_as_jwst(case: str, jwst_offline) -> None:
    mode, params, status = IFU_CASES[case]
    inputs = with_status(simulated_ifu(mode), **status)
    ours, theirs = run_both(inputs, **params)
    skipped = bool(status) and not params.get("force_subtract")
    assert ours.status == ("SKIPPED" if skipped else "COMPLETE")
    if skipped:
        theirs = [p for p in theirs if p.get("asn.exptype") == "science"]
    worst = assert_same_subtracted(list(ours.products), theirs)
    assert worst["data"] == 0.0  # the same float32 operations: bit for bit
    science = [p for p in inputs if p.get("asn.exptype") == "science"]
    changed = [not np.array_equal(a.part.data, b.part.data, equal_nan=True)
               for a, b in zip(ours.products, science, strict=True)]
    assert changed == [not skipped] * len(science)


def test_nirspec_ifu_point_source_pathloss(jwst_offline) -> None:
    inputs = [with_pathloss_arrays(p, i) if p.get("asn.exptype") == "science" else p
              for i, p in enumerate(simulated_ifu("nrs_ifu"))]
    ours, theirs = run_both(inputs)
    worst = assert_same_subtracted(list(ours.products), theirs)
    assert worst["data"] == 0.0
    plain = master_background(list(simulated_ifu("nrs_ifu")))
    assert not np.allclose(plain.products[0].part.data, ours.products[0].part.data,
                           equal_nan=True)  # the pathloss ratio did act


def test_ifu_user_background_and_saved_backgrounds(tmp_path: Path, monkeypatch,
                                                   jwst_offline) -> None:
    monkeypatch.chdir(tmp_path)  # jwst writes the saved backgrounds there
    path = tmp_path / "user_mrs_x1d.fits"
    loaded = user_spectrum(path, (5.2, 9.0), "MIR_MRS")  # part of channels 1 and 2
    inputs = list(simulated_ifu("mir_mrs"))
    from jwst.master_background import MasterBackgroundStep

    ours = master_background(inputs, user_background=loaded, save_background=True)
    theirs = run_jwst_step(MasterBackgroundStep, inputs, user_background=str(path),
                           save_background=True)
    subtracted = [o.product for o in ours.outputs if o.suffix == "mbsub"]
    assert_same_subtracted(subtracted, theirs)
    assert subtracted[0].get("background.master_background_file") == path.name
    paths_2d = sorted(tmp_path.glob("*masterbg2d*.fits"))
    backgrounds = [o.product for o in ours.outputs if o.suffix == "masterbg2d"]
    assert len(paths_2d) == len(backgrounds) == 4
    for mine, saved in zip(backgrounds, paths_2d, strict=True):
        assert_arrays_match(mine.part.data, read_product(saved).part.data, rtol=0.0,
                            name=saved.name)
        # outside the user spectrum: 0 and (IFU) no DO_NOT_USE added
        assert (mine.part.data == 0).any() and (mine.part.data > 0).any()
    np.testing.assert_array_equal(subtracted[0].part.dq, inputs[0].part.dq)
