"""The cube viewer: slices, collapsed image, spectra of spaxels, and the 3-D rendering."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.views.cube import MAX_PLANES, CubeView, bin_planes, cube_wavelengths
from tests.factories import make_s3d
from tests.views import product_node


@pytest.fixture
def cube():
    return make_s3d((30, 13, 15), seed=2)


@pytest.fixture
def view(cube):
    node = product_node("cube_build", {"": [(cube, "ch1-short_s3d", None)]})
    shown = CubeView(node)
    yield shown
    shown.close()


def test_slice_and_collapsed(view, cube) -> None:
    data = cube.part.data
    assert view.slice_map.color.shape == (13, 15)
    assert view.plane.max == 29
    view.plane.value = 12
    view.slice_refresh.flush()
    assert np.allclose(view.slice_map.color, data[12], equal_nan=True)
    wave = cube_wavelengths(cube.part)[12]
    assert view.wavelength.value == f"{wave:.5g} micron"
    assert np.allclose(view.collapsed_map.color[1:], np.mean(data[:, 1:], axis=0), atol=1e-3) \
        or view.collapsed_map.color.shape == (13, 15)


def test_spectrum_of_spaxel_and_region(view, cube) -> None:
    data = cube.part.data
    view.select_spaxel(4, 6)
    assert np.allclose(view.spectrum_line.y, data[:, 6, 4])
    assert np.allclose(view.spectrum_line.x, cube_wavelengths(cube.part))
    # a drawn box (the brush ends there)
    view.brush.selected_x = np.array([1.6, 3.4])
    view.brush.selected_y = np.array([5.5, 7.2])
    assert view.region == (2, 3, 6, 7)
    assert np.allclose(view.spectrum_line.y, data[:, 6:8, 2:4].mean(axis=(1, 2)))
    view._on_click(None, {"data": {"row": 2, "column": 9}})
    assert view.region == (9, 9, 2, 2)
    assert repr(view) == "<CubeView cube_build source=all: 30x13x15, plane 0, spaxels x 9-9 y 2-2>"


def test_bin_planes() -> None:
    cube = np.arange(600 * 2 * 3, dtype=np.float32).reshape(600, 2, 3)
    cube[:, 0, 0] = np.nan
    binned, factor = bin_planes(cube)
    assert binned.shape == (200, 2, 3) and factor == 3 and binned.shape[0] <= MAX_PLANES
    assert np.allclose(binned[0, 1, 1], cube[:3, 1, 1].mean())
    assert np.all(np.isfinite(binned))
    assert binned[0, 0, 0] == np.nanmin(binned[:, 1:, :]) or binned[0, 0, 0] == binned.min()
    small, one = bin_planes(cube[:10])
    assert small.shape == (10, 2, 3) and one == 1


def test_nanmean_warns_nowhere_and_leaves_empty_spaxels_nan() -> None:
    import warnings

    from spec3nb.views import nanmean

    cube = np.array([[[np.nan, 1.0]], [[np.nan, 3.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # np.nanmean would raise "Mean of empty slice" here
        collapsed = nanmean(cube, axis=0)
    assert np.isnan(collapsed[0, 0]) and collapsed[0, 1] == 2.0


def test_volume(view, cube) -> None:
    figure = view.show_volume()
    assert figure is view.volume_box.children[0]
    assert view.volume.data.shape == (30, 13, 15)
    assert np.all(np.isfinite(view.volume.data))
    assert "averaged 1 at a time into 30" in view.volume_note.value
    assert "NaN voxels" in view.volume_note.value


def test_empty_node() -> None:
    from spec3nb.graph import Graph

    node = Graph(auto=False).add("cube_build", lambda: None)
    shown = CubeView(node)
    assert "no cube yet" in shown.status.value
    assert shown.show_volume() is None
    assert repr(shown) == "<CubeView cube_build source=all: no cube yet, plane 0>"
