"""The cube viewer: a wavelength slice, the collapsed image, the spectrum under the cursor, and
an optional 3-D rendering.

Slices, the collapsed image and spectra are bqplot; the 3-D view is ipyvolume, built on
request as jupyter_notes.md says works with JupyterLab 4 (``ipv.figure(...)`` then
``ipv.volshow(..., controls=False)``). ipyvolume thins any axis longer than 256 by striding,
so the wavelength axis is averaged into at most 256 planes first and NaNs are replaced by
the cube's minimum; the view says so.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from spec3nb.views import Throttle, nanmean, source_data, source_label, unobserve
from spec3nb.views.image import stretch
from spec3nb.views.spectrum import finite_end

MAX_PLANES = 256
# ipyvolume's pylab keeps a "current figure": build figures one at a time.
_IPV_LOCK = threading.Lock()


def cubes_of(node: Any, source: str | None) -> list[tuple[str, Any]]:
    """``(label, part)`` of every 3-D product a node made for one source (s3d cubes)."""
    data = source_data(node, source)
    if data is None:
        return []
    found = []
    for index, output in enumerate(data.outputs):
        for part in output.product.parts:
            if "data" in part.arrays and part.data.ndim == 3:
                found.append((f"{output.suffix} {index}", part))
    return found


def cube_wavelengths(part: Any) -> np.ndarray:
    """The wavelength of each plane (the WAVE-TAB table; plane numbers when absent)."""
    nwave = part.data.shape[0]
    table = part.arrays.get("wavetable")
    if table is not None and table.dtype.names and "wavelength" in table.dtype.names:
        wave = np.ravel(np.asarray(table["wavelength"], dtype=float))
        if wave.size == nwave:
            return wave
    return np.arange(nwave, dtype=float)


def bin_planes(cube: np.ndarray, max_planes: int = MAX_PLANES) -> tuple[np.ndarray, int]:
    """Average the wavelength axis into at most `max_planes` planes; replace NaNs.

    Parameters
    ----------
    cube : numpy.ndarray
        ``(nwave, ny, nx)``.
    max_planes : int
        Largest number of planes kept.

    Returns
    -------
    tuple[numpy.ndarray, int]
        The binned cube (float32, no NaN: they become the minimum, or 0 when all are NaN)
        and the number of planes averaged into each bin.
    """
    nwave = cube.shape[0]
    factor = max(1, math.ceil(nwave / max_planes))
    nbins = math.ceil(nwave / factor)
    padded = np.full((nbins * factor, *cube.shape[1:]), np.nan, dtype=np.float32)
    padded[:nwave] = cube
    binned = nanmean(padded.reshape(nbins, factor, *cube.shape[1:]), axis=1)
    finite = binned[np.isfinite(binned)]
    fill = float(finite.min()) if finite.size else 0.0
    return np.where(np.isfinite(binned), binned, fill).astype(np.float32), factor


def _covered(interval: Any) -> tuple[int, int]:
    """The spaxels whose centres lie in a brushed interval (the nearest one if none)."""
    low, high = float(min(interval)), float(max(interval))
    first, last = math.ceil(low), math.floor(high)
    if first > last:
        first = last = round((low + high) / 2.0)
    return int(first), int(last)


def _heatmap(x_scale: Any, y_scale: Any, colour: Any) -> bqplot.HeatMap:
    return bqplot.HeatMap(color=np.full((2, 2), np.nan), null_color="#444444",
                          scales={"x": x_scale, "y": y_scale, "color": colour})


def _image_figure(title: str, mark: Any, x_scale: Any, y_scale: Any, colour: Any,
                  extra: list) -> bqplot.Figure:
    axes = [bqplot.Axis(scale=x_scale, label="x (spaxels)"),
            bqplot.Axis(scale=y_scale, side="left", label="y (spaxels)"),
            bqplot.ColorAxis(scale=colour, side="right")]
    return bqplot.Figure(marks=[mark, *extra], axes=axes, title=title, padding_x=0,
                         padding_y=0, fig_margin={"top": 40, "bottom": 45, "left": 50,
                                                  "right": 60},
                         layout={"height": "320px", "width": "420px"})


class CubeView(widgets.VBox):
    """An s3d cube of one source: slice, collapsed image, spectrum, 3-D on request.

    Parameters
    ----------
    node : Node
        cube_build (any node whose outputs are cubes).
    source : str, optional
        The source key (the first source when None).
    interval : float
        Seconds between redraws when the node changes quickly.
    """

    def __init__(self, node: Any, source: str | None = None, *, interval: float = 0.05,
                 **kwargs: Any) -> None:
        self.node, self.source = node, source
        self.cubes: list[tuple[str, Any]] = []
        self.region: tuple[int, int, int, int] | None = None  # x0, x1, y0, y1 (inclusive)
        self.volume: Any = None
        self.volume_figure: Any = None
        self.cube_choice = widgets.Dropdown(options=[], description="cube")
        self.plane = widgets.IntSlider(value=0, min=0, max=0, description="plane",
                                       continuous_update=True)
        self.wavelength = widgets.Label("")
        self.status = widgets.HTML("")
        self.volume_note = widgets.HTML("")
        self.volume_button = widgets.Button(description="Show 3-D view", icon="cube",
                                            tooltip="render the cube with ipyvolume")
        self.volume_box = widgets.VBox([])
        self._build_figures()
        self.refresh = Throttle(self._redraw, interval)
        self.slice_refresh = Throttle(self._draw_slice, interval)
        self.cube_choice.observe(lambda _: self.refresh.now(), names="value")
        self.plane.observe(self.slice_refresh, names="value")
        self.brush.observe(self._on_brush, names=["selected_x", "selected_y", "brushing"])
        self.slice_map.on_element_click(self._on_click)
        self.volume_button.on_click(lambda _: self.show_volume())
        node.observe(self.refresh, names=["output"])
        rows = [widgets.HBox([self.cube_choice, self.plane, self.wavelength]), self.status,
                widgets.HBox([self.slice_figure, self.collapsed_figure]),
                self.spectrum_figure, widgets.HBox([self.volume_button, self.volume_note]),
                self.volume_box]
        super().__init__(children=rows, **kwargs)
        self.add_class("spec3nb-cube")
        self.refresh.now()

    def _build_figures(self) -> None:
        xs, ys, cs = bqplot.LinearScale(), bqplot.LinearScale(), bqplot.ColorScale()
        self.slice_map = _heatmap(xs, ys, cs)
        self.slice_figure = _image_figure("slice", self.slice_map, xs, ys, cs, [])
        cx, cy, cc = bqplot.LinearScale(), bqplot.LinearScale(), bqplot.ColorScale()
        self.collapsed_map = _heatmap(cx, cy, cc)
        self.region_box = bqplot.Lines(x=[], y=[], scales={"x": cx, "y": cy},
                                       colors=["#ff2d55"], stroke_width=2)
        self.brush = bqplot.interacts.BrushSelector(x_scale=cx, y_scale=cy, color="#ff2d55")
        self.collapsed_figure = _image_figure("collapsed (mean over wavelength)",
                                              self.collapsed_map, cx, cy, cc, [self.region_box])
        self.collapsed_figure.interaction = self.brush
        sx, sy = bqplot.LinearScale(), bqplot.LinearScale()
        self.spectrum_line = bqplot.Lines(x=[], y=[], scales={"x": sx, "y": sy},
                                          colors=["#1f77b4"])
        self.plane_marker = bqplot.Lines(x=[], y=[], scales={"x": sx, "y": sy},
                                         colors=["#999999"], line_style="dashed")
        axes = [bqplot.Axis(scale=sx, label="wavelength (micron)"),
                bqplot.Axis(scale=sy, side="left", label="mean surface brightness",
                            tick_format=".3g")]
        self.spectrum_figure = bqplot.Figure(
            marks=[self.spectrum_line, self.plane_marker], axes=axes,
            interaction=bqplot.PanZoom(scales={"x": [sx], "y": [sy]}),
            fig_margin={"top": 20, "bottom": 45, "left": 70, "right": 20},
            layout={"height": "260px", "width": "100%"})

    # ------------------------------------------------------------ drawing

    @property
    def part(self) -> Any:
        """The cube shown (None before cube_build ran)."""
        return dict(self.cubes).get(self.cube_choice.value)

    def set_source(self, source: str | None) -> None:
        """Show another source."""
        self.source = source
        self.refresh.now()

    def _redraw(self) -> None:
        self.cubes = cubes_of(self.node, self.source)
        labels = [label for label, _ in self.cubes]
        if list(self.cube_choice.options) != labels:
            keep = self.cube_choice.value
            self.cube_choice.options = labels
            self.cube_choice.value = keep if keep in labels else (labels[0] if labels else None)
        part = self.part
        if part is None:
            self.status.value = f"<i>no cube yet ({self.node.name}: {self.node.status})</i>"
            return
        nwave, ny, nx = part.data.shape
        self.plane.max = nwave - 1
        collapsed = nanmean(part.data, axis=0)
        image, low, high = stretch(collapsed, "linear 1-99%")
        self._set_map(self.collapsed_map, image, low, high)
        self.status.value = f"{self.cube_choice.value}: {nwave} planes of {ny} x {nx} spaxels"
        if self.region is None or self.region[1] >= nx or self.region[3] >= ny:
            self.region = (nx // 2, nx // 2, ny // 2, ny // 2)
        self._draw_slice()
        self._draw_spectrum()

    @staticmethod
    def _set_map(mark: Any, image: np.ndarray, low: float, high: float) -> None:
        ny, nx = image.shape
        with mark.hold_sync():
            mark.x, mark.y = np.arange(nx), np.arange(ny)
            mark.color = image
        mark.scales["color"].min, mark.scales["color"].max = low, high

    def _draw_slice(self, _: Any = None) -> None:
        part = self.part
        if part is None:
            return
        index = min(self.plane.value, part.data.shape[0] - 1)
        image, low, high = stretch(part.data[index], "linear 1-99%")
        self._set_map(self.slice_map, image, low, high)
        wave = cube_wavelengths(part)[index]
        self.wavelength.value = f"{wave:.5g} micron"
        self.slice_figure.title = f"slice {index}: {wave:.5g} micron"
        top = self.spectrum_line.y
        if len(top) and np.any(np.isfinite(top)):
            span = [float(np.nanmin(top)), float(np.nanmax(top))]
            self.plane_marker.x, self.plane_marker.y = [wave, wave], span

    def _draw_spectrum(self) -> None:
        part = self.part
        if part is None or self.region is None:
            return
        x0, x1, y0, y1 = self.region
        spectrum = nanmean(part.data[:, y0: y1 + 1, x0: x1 + 1], axis=(1, 2))
        x, y = finite_end(cube_wavelengths(part), spectrum)
        with self.spectrum_line.hold_sync():
            self.spectrum_line.x, self.spectrum_line.y = x, y
        self.region_box.x = [x0 - 0.5, x1 + 0.5, x1 + 0.5, x0 - 0.5, x0 - 0.5]
        self.region_box.y = [y0 - 0.5, y0 - 0.5, y1 + 0.5, y1 + 0.5, y0 - 0.5]
        self._draw_slice()

    # ------------------------------------------------------------ selecting spaxels

    def select_region(self, x0: int, x1: int, y0: int, y1: int) -> None:
        """Show the mean spectrum of the spaxels ``x0..x1``, ``y0..y1`` (inclusive).

        Parameters
        ----------
        x0, x1, y0, y1 : int
            The box, in spaxels (clipped to the cube).
        """
        part = self.part
        if part is None:
            return
        _, ny, nx = part.data.shape
        xa, xb = sorted((int(np.clip(x0, 0, nx - 1)), int(np.clip(x1, 0, nx - 1))))
        ya, yb = sorted((int(np.clip(y0, 0, ny - 1)), int(np.clip(y1, 0, ny - 1))))
        self.region = (xa, xb, ya, yb)
        self._draw_spectrum()

    def select_spaxel(self, x: int, y: int) -> None:
        """Show the spectrum of one spaxel."""
        self.select_region(x, x, y, y)

    def _on_click(self, _: Any, event: dict) -> None:
        data = event.get("data", {}) if isinstance(event, dict) else {}
        column, row = data.get("column", data.get("x")), data.get("row", data.get("y"))
        if column is not None and row is not None:
            self.select_spaxel(int(round(column)), int(round(row)))

    def _on_brush(self, _: Any = None) -> None:
        if self.brush.brushing:
            return
        sx, sy = self.brush.selected_x, self.brush.selected_y
        if sx is None or sy is None or len(sx) != 2 or len(sy) != 2:
            return
        self.select_region(*_covered(sx), *_covered(sy))

    # ------------------------------------------------------------ 3-D

    def show_volume(self) -> Any:
        """Render the cube in 3-D with ipyvolume (binned to <= 256 planes, NaNs filled).

        Returns
        -------
        ipyvolume.Figure or None
            The figure (None before cube_build ran).
        """
        part = self.part
        if part is None:
            return None
        import ipyvolume as ipv

        binned, factor = bin_planes(part.data)
        with _IPV_LOCK:
            figure = ipv.figure(width=420, height=420)
            # ipyvolume's gradient of flat regions casts NaNs: a floating-point warning that
            # errstate (thread-safe, unlike catch_warnings) silences.
            with np.errstate(invalid="ignore"):
                self.volume = ipv.volshow(binned, controls=False)
        self.volume_figure = figure
        self.volume_box.children = [figure]
        nan_count = int(np.isnan(part.data).sum())
        self.volume_note.value = (
            f"3-D view: {part.data.shape[0]} planes averaged {factor} at a time into "
            f"{binned.shape[0]}; {nan_count} NaN voxels shown at the cube minimum")
        return figure

    def flush(self) -> None:
        """Apply a pending redraw now (for code that reads the view right after a run)."""
        self.refresh.flush()

    def close(self) -> None:
        """Stop following the node and close the widgets."""
        refresh = getattr(self, "refresh", None)
        if refresh is not None:
            unobserve(self.node, refresh, ["output"])
            refresh.cancel()
            self.slice_refresh.cancel()
        super().close()

    def __repr__(self) -> str:
        part = self.part
        shape = "no cube yet" if part is None else "x".join(str(n) for n in part.data.shape)
        region = "" if self.region is None else f", spaxels x {self.region[0]}-" \
            f"{self.region[1]} y {self.region[2]}-{self.region[3]}"
        return (f"<CubeView {self.node.name} source={source_label(self.source)}: {shape}, "
                f"plane {self.plane.value}{region}>")
