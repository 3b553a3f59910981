"""The 2-D viewer (bqplot): cal/crf/s2d images with a stretch, outliers, the extraction
aperture and the background regions.

The image is a bqplot ``HeatMap`` (a canvas raster, not one SVG element per pixel). Pixels
that outlier_detection flagged (DQ ``OUTLIER``) are marked on top. On an s2d, the aperture
extract_1d used (the ``extraction_*start/stop`` attributes of its x1d) is drawn as a band
with a brush: dragging the brush sets extract_1d's ``extract_width`` and
``position_offset``, which recomputes the spectrum in auto mode.

The background regions (the EXTRACT1D reference's ``bkg_coeff``, placed as the step places
them: :mod:`spec3nb.views.regions`) are drawn too. jwst 3.0.0 has no parameter that sets
them apart from the aperture: they move with it by ``position_offset``. So in "background"
edit mode, dragging their band moves aperture and regions together (``position_offset``);
their widths come from the reference file only (``override_extract1d``).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from spec3nb.views import Throttle, source_data, source_label, unobserve
from spec3nb.views.regions import ReferenceCache, Regions, background_regions

OUTLIER = 1 << 4  # the DQ bit outlier_detection sets (spec3nb.datamodels.dq.OUTLIER)
MAX_MARKS = 5000
#: stretch name -> (lower percentile, upper percentile, asinh)
STRETCHES = {"linear 1-99%": (1.0, 99.0, False), "asinh 1-99.5%": (1.0, 99.5, True),
             "min-max": (0.0, 100.0, False)}


@dataclasses.dataclass(frozen=True)
class Frame:
    """One 2-D image a node made: a label and the part holding it."""

    label: str
    part: Any
    suffix: str
    product: Any = None


@dataclasses.dataclass(frozen=True)
class Aperture:
    """An extraction aperture in 0-based pixel centres across the dispersion.

    Parameters
    ----------
    lower, upper : float
        First and last pixel centre of the aperture.
    dispaxis : int
        1 when the dispersion runs along x (the aperture spans rows), 2 along y.
    """

    lower: float
    upper: float
    dispaxis: int

    @property
    def width(self) -> float:
        """Width in pixels (``extract_width``)."""
        return self.upper - self.lower + 1.0

    @property
    def centre(self) -> float:
        """Centre (0-based pixel coordinate)."""
        return (self.lower + self.upper) / 2.0

    @property
    def edges(self) -> tuple[float, float]:
        """The outer pixel edges (what the brush shows)."""
        return self.lower - 0.5, self.upper + 0.5


def frames_of(node: Any, source: str | None) -> list[Frame]:
    """The 2-D images among a node's outputs for one source (every part with 2-D data)."""
    data = source_data(node, source)
    if data is None:
        return []
    found = []
    for index, output in enumerate(data.outputs):
        product = output.product
        for k, part in enumerate(product.parts):
            if "data" not in part.arrays or part.data.ndim != 2:
                continue
            name = part.attrs.get("name")
            bits = [output.suffix, str(index if output.origin is None else output.origin)]
            if len(product.parts) > 1:
                bits.append(str(name) if name else f"part {k}")
            found.append(Frame(" ".join(bits), part, output.suffix, product))
    return found


def aperture_of(node: Any, source: str | None) -> Aperture | None:
    """The aperture extract_1d recorded on its x1d for one source (None if none yet)."""
    data = source_data(node, source)
    if data is None:
        return None
    for output in data.outputs:
        for part in output.product.parts:
            attrs = part.attrs
            dispaxis = attrs.get("dispersion_direction")
            axis = "y" if dispaxis == 1 else "x"
            start, stop = (attrs.get(f"extraction_{axis}start"),
                           attrs.get(f"extraction_{axis}stop"))
            if dispaxis in (1, 2) and start is not None and stop is not None:
                return Aperture(float(start) - 1.0, float(stop) - 1.0, int(dispaxis))
    return None


def stretch(data: np.ndarray, name: str) -> tuple[np.ndarray, float, float]:
    """The displayed values of an image and their colour range.

    Parameters
    ----------
    data : numpy.ndarray
        The image (NaNs allowed).
    name : str
        A key of :data:`STRETCHES`.

    Returns
    -------
    tuple
        The (possibly asinh-scaled) image and the colour-scale minimum and maximum.
    """
    low_pct, high_pct, asinh = STRETCHES[name]
    image = np.asarray(data, dtype=float)
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return image, 0.0, 1.0
    low, high = (float(v) for v in np.percentile(finite, [low_pct, high_pct]))
    if asinh:
        soft = max(high - low, 1e-30) / 10.0
        image = np.arcsinh((image - low) / soft)
        low, high = 0.0, float(np.arcsinh((high - low) / soft))
    return image, low, high if high > low else low + 1.0


class ImageView(widgets.VBox):
    """The 2-D products of a node for one source, with an editable extraction aperture.

    Parameters
    ----------
    node : Node
        The node whose images are shown (exp_to_source, outlier_detection, resample_spec).
    source : str, optional
        The source key (the first source when None).
    aperture_node : Node, optional
        extract_1d: its aperture is drawn on the image and dragging it edits its
        ``extract_width`` and ``position_offset``.
    interval : float
        Seconds between redraws when the nodes change quickly.
    """

    def __init__(self, node: Any, source: str | None = None, *, aperture_node: Any = None,
                 interval: float = 0.05, **kwargs: Any) -> None:
        self.node, self.source, self.aperture_node = node, source, aperture_node
        self.frames: list[Frame] = []
        self.aperture: Aperture | None = None
        self.regions: Regions | None = None
        self._references = ReferenceCache()
        self._lock = threading.RLock()
        self._syncing = False
        self.frame = widgets.Dropdown(options=[], description="image")
        self.stretch = widgets.Dropdown(options=list(STRETCHES), value="asinh 1-99.5%",
                                        description="stretch")
        self.show_outliers = widgets.Checkbox(value=True, description="outliers",
                                              indent=False)
        self.edit = widgets.ToggleButtons(
            options=["aperture", "background"], value="aperture",
            tooltips=["drag: extract_width and position_offset",
                      "drag: position_offset (the regions move with the aperture, as in jwst)"],
            description="drag", style={"button_width": "8em", "description_width": "3em"},
            layout={"display": "none", "width": "auto", "flex": "0 0 auto"})
        self.status = widgets.HTML("")
        self._build_figure()
        self.refresh = Throttle(self._redraw, interval)
        for control in (self.frame, self.stretch, self.show_outliers, self.edit):
            control.observe(lambda _: self.refresh.now(), names="value")
        followed = [n for n in (node, aperture_node) if n is not None]
        for each in followed:
            each.observe(self.refresh, names=["output"])
        self.brush.observe(self._on_brush, names=["selected", "brushing"])
        controls = widgets.HBox([self.frame, self.stretch, self.show_outliers, self.edit])
        super().__init__(children=[controls, self.status, self.figure], **kwargs)
        self.add_class("spec3nb-image")
        self.refresh.now()

    def _build_figure(self) -> None:
        self.x_scale, self.y_scale = bqplot.LinearScale(), bqplot.LinearScale()
        self.colour_scale = bqplot.ColorScale(scheme="viridis")
        scales = {"x": self.x_scale, "y": self.y_scale, "color": self.colour_scale}
        self.heatmap = bqplot.HeatMap(color=np.full((2, 2), np.nan), scales=scales,
                                      null_color="#444444")
        self.outliers = bqplot.Scatter(x=[], y=[], scales={"x": self.x_scale,
                                                           "y": self.y_scale},
                                       colors=["#ff2d55"], marker="square", default_size=12,
                                       opacities=[0.8])
        self.aperture_lines = bqplot.Lines(x=[], y=[], scales={"x": self.x_scale,
                                                               "y": self.y_scale},
                                           colors=["#ffffff"], stroke_width=2,
                                           line_style="dashed")
        self.background_lines = bqplot.Lines(x=[], y=[], scales={"x": self.x_scale,
                                                                 "y": self.y_scale},
                                             colors=["#00e5ff"], stroke_width=1.5,
                                             line_style="dash_dotted")
        self.brush = bqplot.interacts.BrushIntervalSelector(scale=self.y_scale,
                                                            orientation="vertical",
                                                            color="#ffcc00")
        axes = [bqplot.Axis(scale=self.x_scale, label="x (pixels)"),
                bqplot.Axis(scale=self.y_scale, side="left", label="y (pixels)"),
                bqplot.ColorAxis(scale=self.colour_scale, side="right")]
        marks = [self.heatmap, self.outliers, self.background_lines, self.aperture_lines]
        self.figure = bqplot.Figure(marks=marks,
                                    axes=axes, padding_x=0, padding_y=0,
                                    fig_margin={"top": 20, "bottom": 45, "left": 55,
                                                "right": 70},
                                    layout={"height": "360px", "width": "100%"})

    # ------------------------------------------------------------ drawing

    def set_source(self, source: str | None) -> None:
        """Show another source."""
        self.source = source
        self.refresh.now()

    def _redraw(self) -> None:
        with self._lock:
            self.frames = frames_of(self.node, self.source)
            labels = [f.label for f in self.frames]
            keep = self.frame.value if self.frame.value in labels else None
            if list(self.frame.options) != labels:
                self._syncing = True
                try:
                    self.frame.options = labels
                    self.frame.value = keep if keep is not None else (
                        labels[0] if labels else None)
                finally:
                    self._syncing = False
            frame = self.current_frame
            if frame is None:
                self.status.value = f"<i>no image yet ({self.node.name}: " \
                                    f"{self.node.status})</i>"
                return
            self._draw_image(frame)
            self._draw_aperture(frame)

    @property
    def current_frame(self) -> Frame | None:
        """The image shown."""
        return next((f for f in self.frames if f.label == self.frame.value), None)

    def _draw_image(self, frame: Frame) -> None:
        data = frame.part.data
        image, low, high = stretch(data, self.stretch.value)
        ny, nx = data.shape
        with self.heatmap.hold_sync():
            self.heatmap.x, self.heatmap.y = np.arange(nx), np.arange(ny)
            self.heatmap.color = image
        self.colour_scale.min, self.colour_scale.max = low, high
        flagged = np.zeros((0, 2), int)
        if self.show_outliers.value and "dq" in frame.part.arrays:
            flagged = np.argwhere(frame.part.dq & OUTLIER)[:MAX_MARKS]
        with self.outliers.hold_sync():
            self.outliers.x, self.outliers.y = flagged[:, 1], flagged[:, 0]
        self.status.value = (f"{frame.label}: {ny} x {nx} pixels, {len(flagged)} outlier "
                             f"pixels marked")

    def _draw_aperture(self, frame: Frame) -> None:
        node = self.aperture_node
        on_s2d = node is not None and frame.suffix == "s2d"
        aperture = aperture_of(node, self.source) if on_s2d else None
        self.regions = (background_regions(frame.product, frame.part, node, self._references)
                        if on_s2d and frame.product is not None else None)
        self._draw_regions(frame)
        if aperture is None:
            self.aperture = None
            self.aperture_lines.x, self.aperture_lines.y = [], []
            self.figure.interaction = None
            return
        self.aperture = aperture
        ny, nx = frame.part.data.shape
        low, high = aperture.edges
        if aperture.dispaxis == 1:
            x = np.array([[-0.5, nx - 0.5], [-0.5, nx - 0.5]])
            y = np.array([[low, low], [high, high]])
            self.brush.scale, self.brush.orientation = self.y_scale, "vertical"
        else:
            x = np.array([[low, low], [high, high]])
            y = np.array([[-0.5, ny - 0.5], [-0.5, ny - 0.5]])
            self.brush.scale, self.brush.orientation = self.x_scale, "horizontal"
        with self.aperture_lines.hold_sync():
            self.aperture_lines.x, self.aperture_lines.y = x, y
        self._set_brush(self.regions.span if self._editing_background else (low, high))
        self.figure.interaction = self.brush
        self.status.value += (f"; aperture {aperture.width:.2f} px wide at "
                              f"{aperture.centre:.2f} (drag to edit)")

    @property
    def _editing_background(self) -> bool:
        return self.edit.value == "background" and self.regions is not None

    def _set_brush(self, interval: tuple[float, float]) -> None:
        self._syncing = True
        try:
            self.brush.selected = np.array(interval)
        finally:
            self._syncing = False

    def _draw_regions(self, frame: Frame) -> None:
        """Draw the background regions (lower and upper edge of each) or clear them."""
        regions = self.regions
        self.edit.layout.display = "" if regions is not None else "none"
        if regions is None:
            self.background_lines.x, self.background_lines.y = [], []
            return
        along = np.broadcast_to(regions.along, regions.edges.shape)
        x, y = (along, regions.edges) if regions.dispaxis == 1 else (regions.edges, along)
        with self.background_lines.hold_sync():
            self.background_lines.x, self.background_lines.y = x, y
            self.background_lines.opacities = [1.0 if regions.used else 0.4]
        state = "subtracted" if regions.used else "not subtracted (subtract_background)"
        self.status.value += f"; {regions.count} background regions, {state}"

    # ------------------------------------------------------------ editing

    def _on_brush(self, _: Any = None) -> None:
        if self._syncing or self.brush.brushing:
            return  # programmatic update, or the drag is not finished yet
        selected = self.brush.selected
        if selected is None or len(selected) != 2:
            return
        low, high = float(min(selected)), float(max(selected))
        if self._editing_background:
            self.move_background(low, high)
        else:
            self.set_aperture(low, high)

    def move_background(self, low_edge: float, high_edge: float) -> None:
        """Move the background regions so that their band covers `low_edge` .. `high_edge`.

        jwst moves the regions only together with the aperture (``position_offset``): the
        band's centre shift is added to extract_1d's ``position_offset``; a change of the
        band's width cannot be expressed by a jwst parameter and is undone.

        Parameters
        ----------
        low_edge, high_edge : float
            The dragged band, in pixel coordinates across the dispersion.
        """
        node, regions = self.aperture_node, self.regions
        if node is None or regions is None:
            return
        low, high = regions.span
        shift = (low_edge + high_edge) / 2.0 - (low + high) / 2.0
        offset = round(float(node.position_offset) + shift, 2)
        if offset == node.position_offset:
            self._set_brush((low, high))  # nothing to recompute: show the regions again
            return
        node.position_offset = offset

    def set_aperture(self, low_edge: float, high_edge: float) -> None:
        """Move the aperture to cover the pixel edges `low_edge` .. `high_edge`.

        Sets extract_1d's ``extract_width`` (the new width) and ``position_offset`` (so the
        centre moves by as much as the dragged band did), as one change.

        Parameters
        ----------
        low_edge, high_edge : float
            The new band, in pixel coordinates across the dispersion.
        """
        node, current = self.aperture_node, self.aperture
        if node is None or current is None:
            return
        width = max(round(high_edge - low_edge, 2), 1.0)
        shift = (low_edge + high_edge) / 2.0 - current.centre
        offset = round(float(node.position_offset) + shift, 2)
        with node.hold_trait_notifications():
            node.extract_width = width
            node.position_offset = offset

    def flush(self) -> None:
        """Apply a pending redraw now (for code that reads the view right after a run)."""
        self.refresh.flush()

    def close(self) -> None:
        """Stop following the nodes and close the widgets."""
        refresh = getattr(self, "refresh", None)
        if refresh is not None:
            for each in (self.node, self.aperture_node):
                if each is not None:
                    unobserve(each, refresh, ["output"])
            refresh.cancel()
        super().close()

    def __repr__(self) -> str:
        shown = self.frame.value or "nothing yet"
        extra = ""
        if self.aperture is not None:
            extra = f", aperture {self.aperture.width:.2f} px at {self.aperture.centre:.2f}"
        if self.regions is not None:
            extra += f", {self.regions.count} background regions"
        return (f"<ImageView {self.node.name} source={source_label(self.source)}: "
                f"{len(self.frames)} images, showing {shown}{extra}>")
