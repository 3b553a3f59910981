"""The 2-D viewer: image, stretch, outlier overlay, and the draggable extraction aperture."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.views.image import OUTLIER, ImageView, stretch
from tests.factories import make_s2d
from tests.views import product_node, simulated_session


def test_image_and_outliers() -> None:
    product = make_s2d(shape=(15, 70))
    dq = np.zeros((15, 70), np.uint32)
    dq[3, 10] = dq[7, 20] = OUTLIER | 1
    dq[1, 1] = 1  # flagged, but not by outlier_detection
    product = product.evolve(parts=[product.part.evolve(arrays={"dq": dq})])
    view = ImageView(product_node("outlier_detection", {"": [(product, "crf", 0)]}))
    assert view.heatmap.color.shape == (15, 70)
    assert sorted(zip(view.outliers.x, view.outliers.y, strict=True)) == [(10, 3), (20, 7)]
    view.show_outliers.value = False
    assert len(view.outliers.x) == 0
    assert repr(view) == "<ImageView outlier_detection source=all: 1 images, showing crf 0>"


def test_stretch() -> None:
    data = np.arange(100.0).reshape(10, 10)
    data[0, 0] = np.nan
    image, low, high = stretch(data, "min-max")
    assert (low, high) == (1.0, 99.0)
    image, low, high = stretch(data, "asinh 1-99.5%")
    assert low == 0.0 and high > 0 and np.isnan(image[0, 0])
    assert stretch(np.full((2, 2), np.nan), "linear 1-99%")[1:] == (0.0, 1.0)


@pytest.fixture(scope="module")
def lrs(tmp_path_factory):
    return simulated_session(tmp_path_factory.mktemp("lrs"))


def test_aperture_drawn_and_dragged(lrs) -> None:
    extract = lrs["extract_1d"]
    view = ImageView(lrs["resample_spec"], aperture_node=extract)
    try:
        assert view.aperture is not None and view.aperture.dispaxis == 2  # MIRI LRS: along y
        assert view.brush.orientation == "horizontal"
        assert list(view.brush.selected) == list(view.aperture.edges)
        before = extract.output
        # what a drag ending there does
        view.brush.selected = np.array([27.5, 32.5])
        assert (extract.extract_width, extract.position_offset) == (5.0, 0.0)
        assert lrs.wait(60)
        view.refresh.flush()
        assert extract.output is not before
        assert (view.aperture.width, view.aperture.centre) == pytest.approx((5.0, 30.0), abs=0.01)
        view.brush.selected = np.array([29.5, 34.5])
        assert (extract.extract_width, extract.position_offset) == (5.0, 2.0)
        assert lrs.wait(60)
        view.refresh.flush()
        assert (view.aperture.width, view.aperture.centre) == pytest.approx((5.0, 32.0), abs=0.01)
        assert repr(view).endswith("aperture 5.00 px at 32.00>")
        # a drag in progress changes nothing until it ends
        view.brush.brushing = True
        view.brush.selected = np.array([10.5, 20.5])
        assert extract.extract_width == 5.0
        view.brush.brushing = False
        assert extract.extract_width == 10.0
    finally:
        extract.reset()
        lrs.wait(60)
        view.close()


def test_crf_frames(lrs) -> None:
    view = ImageView(lrs["outlier_detection"])
    assert view.frame.options == ("crf 0", "crf 1")
    flagged = np.argwhere(view.current_frame.part.dq & OUTLIER)
    assert len(view.outliers.x) == len(flagged) > 0
    view.frame.value = "crf 1"
    assert view.current_frame.label == "crf 1"
    assert view.aperture is None
    view.close()


def _background_reference(folder) -> str:
    """An EXTRACT1D reference for MIRI LRS: a 10-pixel box at x 25..34 and two background
    regions 4 pixels wide, one on each side (edges 20.5-24.5 and 35.5-39.5)."""
    import json

    path = folder / "lrs_extract1d.json"
    path.write_text(json.dumps({"apertures": [{
        "id": "ANY", "xstart": 25, "xstop": 34,
        "bkg_coeff": [[20.5], [24.5], [35.5], [39.5]]}]}))
    return str(path)


def test_no_background_regions_without_reference(lrs) -> None:
    view = ImageView(lrs["resample_spec"], aperture_node=lrs["extract_1d"])
    try:
        assert view.regions is None
        assert view.edit.layout.display == "none"
        assert len(view.background_lines.x) == 0
        assert "background" not in repr(view)
    finally:
        view.close()


def test_background_regions_drawn_and_moved(lrs, tmp_path) -> None:
    extract = lrs["extract_1d"]
    extract.override_extract1d = _background_reference(tmp_path)
    assert lrs.wait(60) and extract.status == "done"
    view = ImageView(lrs["resample_spec"], aperture_node=extract)
    try:
        regions = view.regions
        assert regions is not None and regions.count == 2 and regions.used
        assert regions.dispaxis == 2  # the regions span columns; drawn as vertical lines
        ny = view.current_frame.part.data.shape[0]
        assert np.asarray(view.background_lines.y).shape == (4, ny)
        assert np.array_equal(view.background_lines.x, regions.edges)
        # Placed as the step placed them: same distance from the aperture as in the file,
        # whatever the source-position shift was.
        low_edge = view.aperture.edges[0]
        assert regions.edges[:, 0] - low_edge == pytest.approx([-4.0, 0.0, 11.0, 15.0])
        assert view.edit.layout.display == ""
        assert "2 background regions, subtracted" in view.status.value
        assert repr(view).endswith("2 background regions>")

        # Dragging the background band moves regions and aperture (position_offset).
        view.edit.value = "background"
        first = regions.edges[:, 0].copy()
        assert list(view.brush.selected) == pytest.approx(regions.span)
        low, high = regions.span
        view.brush.selected = np.array([low + 2.0, high + 2.0])
        assert extract.position_offset == 2.0 and extract.extract_width is None
        assert lrs.wait(60)
        view.refresh.flush()
        assert view.regions.edges[:, 0] == pytest.approx(first + 2.0)
        assert view.aperture.edges[0] == pytest.approx(low_edge + 2.0)
        # A width change alone is not a jwst parameter: nothing changes, the band returns.
        low, high = view.regions.span
        view.brush.selected = np.array([low - 3.0, high + 3.0])
        assert extract.position_offset == 2.0
        assert list(view.brush.selected) == pytest.approx([low, high])

        # Regions that extract_1d does not subtract are drawn faintly and said so.
        extract.subtract_background = False
        assert lrs.wait(60)
        view.refresh.flush()
        assert not view.regions.used and view.background_lines.opacities == [0.4]
        assert "not subtracted" in view.status.value
    finally:
        extract.reset()
        lrs.wait(60)
        view.close()
