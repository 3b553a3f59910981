"""The spectrum viewer: what it plots from a node's output, and that it follows the node."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.graph import Graph
from spec3nb.views.spectrum import MAX_POINTS, SpectrumView, decimate
from tests.factories import make_c1d, make_x1d
from tests.views import product_node, simulated_session, source_set


def _flagged_x1d():
    product = make_x1d(npoints=50, seed=3)
    part = product.parts[0]
    table = part.table.copy()
    table["DQ"][[5, 17]] = 1
    return product.evolve(parts=[part.evolve(arrays={"spec_table": table})]), table


def test_flux_band_and_flags() -> None:
    product, table = _flagged_x1d()
    node = product_node("extract_1d", {"": [(product, "x1d", None)]})
    view = SpectrumView(node)
    assert np.allclose(view.line.x, table["WAVELENGTH"])
    assert np.allclose(view.line.y, table["FLUX"])
    low, high = view.band.y
    assert np.allclose(low, table["FLUX"] - table["FLUX_ERROR"])
    assert np.allclose(high, table["FLUX"] + table["FLUX_ERROR"])
    assert np.allclose(view.flagged.x, table["WAVELENGTH"][[5, 17]])
    assert view.y_axis.label == "flux"


@pytest.mark.parametrize(("quantity", "column"), [("surface brightness", "SURF_BRIGHT"),
                                                  ("background", "BACKGROUND")])
def test_quantity_switch(quantity: str, column: str) -> None:
    product, table = _flagged_x1d()
    view = SpectrumView(product_node("extract_1d", {"": [(product, "x1d", None)]}))
    view.quantity.value = quantity
    assert np.allclose(view.line.y, table[column])
    assert view.y_axis.label == quantity
    assert quantity in repr(view)


def test_exposures_overlaid_on_combined() -> None:
    graph = Graph(auto=False)
    x1d = product_node("extract_1d", {"": [(make_x1d(seed=1), "x1d", 0),
                                           (make_x1d(seed=2), "x1d", 1)]}, graph)
    c1d_product = make_c1d(seed=4)
    c1d = product_node("combine_1d", {"": [(c1d_product, "c1d", None)]}, graph)
    view = SpectrumView([x1d, c1d])
    assert np.allclose(view.line.y, c1d_product.parts[0].table["FLUX"])
    # c1d tables have ERROR, not FLUX_ERROR
    assert np.allclose(view.band.y[1] - view.line.y, c1d_product.parts[0].table["ERROR"])
    assert np.asarray(view.overlay.y).shape == (2, 50)
    assert repr(view) == ("<SpectrumView extract_1d+combine_1d source=all flux: 1 spectra, "
                          "2 overlaid>")


def test_decimation_is_for_display_only() -> None:
    x = np.linspace(1.0, 5.0, 50_000)
    y = np.sin(x * 40.0)
    y[12_345] = 99.0
    dx, dy = decimate(x, y)
    assert dx.size <= MAX_POINTS
    assert dy.max() == 99.0 and dy.min() == pytest.approx(y.min())
    short = np.arange(10.0)
    assert decimate(short, short)[0] is short


def test_long_spectrum_is_decimated() -> None:
    product = make_x1d(npoints=20_000)
    view = SpectrumView(product_node("extract_1d", {"": [(product, "x1d", None)]}))
    assert len(view.line.y) <= MAX_POINTS
    assert f"20000 points, {len(view.line.y)} shown" in view.status.value
    assert view.spectra[0].columns["FLUX"].size == 20_000


def test_sources_and_wfss_rows() -> None:
    from tests.factories import make_wfss_x1d

    node = product_node("extract_1d", {"1": [(make_x1d(seed=1), "x1d", 0)],
                                       "2": [(make_wfss_x1d(nsources=2, nexposures=1),
                                              "x1d", 0)]})
    view = SpectrumView(node, source="2")
    assert len(view.spectra) == 2  # one per table row
    view.set_source("1")
    assert len(view.spectra) == 1
    assert "source=1" in repr(view)


def test_follows_node_output() -> None:
    graph = Graph(auto=False)
    state = {"product": make_x1d(seed=1)}
    node = graph.add("extract_1d", lambda: source_set({"": [(state["product"], "x1d", None)]}))
    view = SpectrumView(node)
    assert view.spectra == [] and "no spectrum yet" in view.status.value
    graph.run()
    view.refresh.flush()
    assert np.allclose(view.line.y, state["product"].parts[0].table["FLUX"])


def test_parameter_change_updates_plot_in_auto_mode(tmp_path) -> None:
    session = simulated_session(tmp_path)
    view = SpectrumView([session["extract_1d"], session["combine_1d"]])
    before = np.array(view.line.y, dtype=float)
    session["extract_1d"].extract_width = 5.0
    assert session.wait(60)
    view.refresh.flush()
    after = np.array(view.line.y, dtype=float)
    assert before.shape == after.shape
    assert not np.allclose(np.nan_to_num(before), np.nan_to_num(after))
    expected = session["extract_1d"].output[""].outputs[0].product.parts[0].table["FLUX"]
    # Drawn up to the last finite point (the rest is NaN: nothing to draw).
    assert np.all(np.isnan(expected[after.size:]))
    assert np.allclose(np.nan_to_num(after), np.nan_to_num(expected[: after.size]))
    view.close()


def test_curves_end_on_a_finite_point() -> None:
    # bqplot puts a curve's label at its last point: a NaN there is an SVG error in the page.
    from spec3nb.views.spectrum import finite_end

    x, y = finite_end(np.arange(6.0), np.array([1.0, np.nan, 2.0, 3.0, np.nan, np.nan]))
    assert list(x) == [0.0, 1.0, 2.0, 3.0] and np.isnan(y[1]) and y[-1] == 3.0
    x, band = finite_end(np.arange(4.0), np.array([[1.0, 2.0, 3.0, 4.0],
                                                   [1.0, 2.0, np.nan, 4.0]]))
    assert list(x) == [0.0, 1.0, 2.0, 3.0] and band.shape == (2, 4)
    x, band = finite_end(np.arange(3.0), np.array([[1.0, 2.0, np.nan], [1.0, np.nan, 3.0]]))
    assert list(x) == [0.0] and band.shape == (2, 1)
    assert finite_end(np.arange(2.0), np.full(2, np.nan))[0].size == 0


def test_view_lines_end_finite() -> None:
    product, table = _flagged_x1d()
    table = table.copy()
    table["FLUX"][-3:] = np.nan
    part = product.parts[0].evolve(arrays={"spec_table": table})
    view = SpectrumView(product_node("extract_1d", {"": [(product.evolve(parts=[part]),
                                                          "x1d", None)]}))
    assert len(view.line.x) == len(table) - 3 and np.isfinite(view.line.y[-1])
    assert "shown" not in view.status.value  # not decimated: no note
    assert np.all(np.isfinite(np.asarray(view.band.y)[:, -1]))
