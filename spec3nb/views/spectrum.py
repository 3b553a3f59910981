"""The spectrum viewer (bqplot): x1d/c1d spectra of one source, redrawn when the node recomputes.

The last node given that has spectra draws the main spectrum (line, error band, DQ-flagged
points); the spectra of the other nodes (per-exposure x1d under a c1d) are overlaid thinly.
A toggle switches between flux, surface brightness and background. Long spectra are
decimated for display only (min/max per bin, so peaks survive); the products keep every
point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from spec3nb.views import Throttle, source_data, source_label, unobserve

#: quantity -> (value column, error columns to try, axis label)
QUANTITIES = {
    "flux": ("FLUX", ("FLUX_ERROR", "ERROR"), "flux"),
    "surface brightness": ("SURF_BRIGHT", ("SB_ERROR",), "surface brightness"),
    "background": ("BACKGROUND", ("BKGD_ERROR",), "background"),
}
MAX_POINTS = 4000
MAX_OVERLAYS = 24
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """One spectrum to draw: a label and its table columns (1-D arrays)."""

    label: str
    columns: dict[str, np.ndarray]

    @property
    def wavelength(self) -> np.ndarray:
        """The wavelengths (micron)."""
        return self.columns["WAVELENGTH"]


def _part_label(part: Any, index: int) -> str:
    attrs = part.attrs
    bits = [str(attrs[k]) for k in ("name", "source_id") if attrs.get(k) is not None]
    if attrs.get("spectral_order") is not None:
        bits.append(f"order {attrs['spectral_order']}")
    return " ".join(bits) or f"spectrum {index}"


def spectra_of(product: Any, prefix: str = "") -> list[Spectrum]:
    """The spectra in an x1d/c1d product (a table per part; a row per spectrum in TSO and
    WFSS tables, whose cells are arrays).

    Parameters
    ----------
    product : Product
        The product (parts without a spectrum table are ignored).
    prefix : str
        Put in front of each label.

    Returns
    -------
    list[Spectrum]
        The spectra.
    """
    found = []
    for index, part in enumerate(product.parts):
        if "spec_table" not in part.arrays:
            continue
        table = part.table
        names = table.dtype.names or ()
        label = (prefix + " " + _part_label(part, index)).strip()
        if table.dtype["WAVELENGTH"].shape:  # one spectrum per row
            for row in range(table.shape[0]):
                cols = {n: np.ravel(table[n][row]) for n in names if table.dtype[n].shape}
                found.append(Spectrum(f"{label} row {row}" if table.shape[0] > 1 else label,
                                      cols))
        else:
            found.append(Spectrum(label, {n: np.asarray(table[n]) for n in names}))
    return found


def node_spectra(node: Any, source: str | None) -> list[Spectrum]:
    """Every spectrum a node made for one source (none when it has no output)."""
    data = source_data(node, source)
    if data is None:
        return []
    found = []
    for output in data.outputs:
        if output.product.model_type.endswith(("SpecModel",)):
            prefix = output.suffix if output.origin is None else f"{output.suffix} {output.origin}"
            found.extend(spectra_of(output.product, prefix))
    return found


def decimate(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS
             ) -> tuple[np.ndarray, np.ndarray]:
    """Thin a long curve for display: keep the min and max of each of ``limit/2`` bins.

    Parameters
    ----------
    x, y : numpy.ndarray
        The curve.
    limit : int
        Largest number of points returned.

    Returns
    -------
    tuple of numpy.ndarray
        The displayed points (the input when it is short enough).
    """
    if x.size <= limit:
        return x, y
    nbins = limit // 2
    edges = np.linspace(0, x.size, nbins + 1).astype(int)
    keep = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunk = y[lo:hi]
        if not np.any(np.isfinite(chunk)):
            keep.append(lo)
            continue
        pair = sorted({lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))})
        keep.extend(pair)
    index = np.asarray(keep)
    return x[index], y[index]


def _column(spectrum: Spectrum, names: Sequence[str]) -> np.ndarray | None:
    for name in names:
        if name in spectrum.columns:
            return np.asarray(spectrum.columns[name], dtype=float)
    return None


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def finite_end(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the points after a curve's last finite one (display only).

    bqplot places each curve's label at its last point: a NaN there becomes an invalid SVG
    transform, which the browser logs as an error on every redraw.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n,)`` abscissae.
    y : numpy.ndarray
        ``(n,)`` or ``(k, n)`` ordinates (every row must be finite at the new end).

    Returns
    -------
    tuple of numpy.ndarray
        The curve up to and including its last point where x and every y are finite.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    good = np.isfinite(x) & np.all(np.isfinite(np.atleast_2d(y)), axis=0)
    end = int(np.flatnonzero(good)[-1]) + 1 if good.any() else 0
    return x[:end], y[..., :end]


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """Several curves as one, broken by NaNs (orders or slits drawn as one line)."""
    gap = np.array([np.nan])
    return _cat([p for item in parts for p in (item, gap)][:-1])


class SpectrumView(widgets.VBox):
    """Spectra of one source from one or more nodes (extract_1d, combine_1d ...).

    Parameters
    ----------
    nodes : Node or Sequence[Node]
        The nodes whose spectra are drawn; the last one with spectra is the main one.
    source : str, optional
        The source key (the first source when None).
    interval : float
        Seconds between redraws when the nodes change quickly.
    """

    def __init__(self, nodes: Any, source: str | None = None, *, interval: float = 0.05,
                 **kwargs: Any) -> None:
        self.nodes = tuple(nodes) if isinstance(nodes, Sequence) else (nodes,)
        self.source = source
        self.spectra: list[Spectrum] = []
        self.overlay_spectra: list[Spectrum] = []
        self.quantity = widgets.ToggleButtons(options=list(QUANTITIES), value="flux",
                                              tooltip="what to plot")
        self.status = widgets.HTML("")
        self._build_figure()
        self.refresh = Throttle(self._redraw, interval)
        self.quantity.observe(lambda _: self.refresh.now(), names="value")
        for node in self.nodes:
            node.observe(self.refresh, names=["output"])
        super().__init__(children=[widgets.HBox([self.quantity, self.status]), self.figure,
                                   self.toolbar], **kwargs)
        self.add_class("spec3nb-spectrum")
        self.refresh.now()

    def _build_figure(self) -> None:
        self.x_scale, self.y_scale = bqplot.LinearScale(), bqplot.LinearScale()
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.band = bqplot.Lines(x=[], y=[[], []], scales=scales, fill="between",
                                 fill_opacities=[0.25], colors=["#1f77b4"], opacities=[0, 0],
                                 fill_colors=["#1f77b4"])
        self.overlay = bqplot.Lines(x=[], y=[], scales=scales, stroke_width=1,
                                    opacities=[0.5], colors=list(_COLOURS[1:]))
        self.line = bqplot.Lines(x=[], y=[], scales=scales, colors=["#1f77b4"], stroke_width=2,
                                 labels=["spectrum"], display_legend=False)
        self.flagged = bqplot.Scatter(x=[], y=[], scales=scales, colors=["#d62728"],
                                      marker="cross", default_size=24,
                                      tooltip=bqplot.Tooltip(fields=["x", "y"]))
        self.x_axis = bqplot.Axis(scale=self.x_scale, label="wavelength (micron)")
        self.y_axis = bqplot.Axis(scale=self.y_scale, side="left", label="flux",
                                  tick_format=".3g")
        self.panzoom = bqplot.PanZoom(scales={"x": [self.x_scale], "y": [self.y_scale]})
        self.figure = bqplot.Figure(marks=[self.band, self.overlay, self.line, self.flagged],
                                    axes=[self.x_axis, self.y_axis], interaction=self.panzoom,
                                    fig_margin={"top": 20, "bottom": 50, "left": 70,
                                                "right": 20},
                                    layout={"height": "320px", "width": "100%"})
        self.toolbar = bqplot.Toolbar(figure=self.figure)

    # ------------------------------------------------------------ drawing

    def set_source(self, source: str | None) -> None:
        """Show another source."""
        self.source = source
        self.refresh.now()

    def _collect(self) -> None:
        per_node = [node_spectra(n, self.source) for n in self.nodes]
        main = next((i for i in range(len(per_node) - 1, -1, -1) if per_node[i]), None)
        self.spectra = per_node[main] if main is not None else []
        self.overlay_spectra = [s for i, found in enumerate(per_node) if i != main
                                for s in found][:MAX_OVERLAYS]

    def _redraw(self) -> None:
        self._collect()
        value_name, error_names, label = QUANTITIES[self.quantity.value]
        xs, ys, los, his, fx, fy = [], [], [], [], [], []
        for spectrum in self.spectra:
            y = _column(spectrum, (value_name,))
            if y is None:
                continue
            x = np.asarray(spectrum.wavelength, dtype=float)
            err = _column(spectrum, error_names)
            err = np.zeros_like(y) if err is None else err
            dx, dy = decimate(x, y)
            xs.append(dx)
            ys.append(dy)
            _, lo = decimate(x, y - err)
            _, hi = decimate(x, y + err)
            los.append(lo)
            his.append(hi)
            dq = _column(spectrum, ("DQ",))
            if dq is not None:
                bad = np.flatnonzero((dq != 0) & np.isfinite(y))[:MAX_POINTS]
                fx.append(x[bad])
                fy.append(y[bad])
        self._draw_main(xs, ys, los, his, fx, fy)
        self._draw_overlays(value_name)
        self.y_axis.label = label
        self.status.value = self._status_text()

    def _draw_main(self, xs: list, ys: list, los: list, his: list, fx: list, fy: list
                   ) -> None:
        x, y = finite_end(_join(xs), _join(ys))
        with self.line.hold_sync():
            self.line.x, self.line.y = x, y
        x, band = finite_end(_join(xs), np.vstack([_join(los), _join(his)]))
        with self.band.hold_sync():
            self.band.x, self.band.y = x, band
        with self.flagged.hold_sync():
            self.flagged.x, self.flagged.y = _cat(fx), _cat(fy)

    def _draw_overlays(self, value_name: str) -> None:
        curves = []
        for spectrum in self.overlay_spectra:
            y = _column(spectrum, (value_name,))
            if y is not None:
                cx, cy = finite_end(*decimate(np.asarray(spectrum.wavelength, float), y))
                if cx.size:
                    curves.append((cx, cy))
        if not curves:
            self.overlay.x, self.overlay.y = [], []
            return
        # Shorter curves are padded with their own last point (not NaN: see finite_end).
        size = max(c[0].size for c in curves)
        x = np.array([np.pad(cx, (0, size - cx.size), mode="edge") for cx, _ in curves])
        y = np.array([np.pad(cy, (0, size - cy.size), mode="edge") for _, cy in curves])
        with self.overlay.hold_sync():
            self.overlay.x, self.overlay.y = x, y

    def _status_text(self) -> str:
        if not self.spectra:
            states = ", ".join(f"{n.name}: {n.status}" for n in self.nodes)
            return f"<i>no spectrum yet ({states})</i>"
        points = sum(s.wavelength.size for s in self.spectra)
        # Only decimation is worth a note (trailing NaNs are not drawn either way).
        decimated = any(s.wavelength.size > MAX_POINTS for s in self.spectra)
        shown = int(np.isfinite(self.line.x).sum()) if len(self.line.x) else 0
        note = f", {shown} shown" if decimated else ""
        return (f"{len(self.spectra)} spectra, {points} points{note}; "
                f"{len(self.overlay_spectra)} overlaid")

    def flush(self) -> None:
        """Apply a pending redraw now (for code that reads the view right after a run)."""
        self.refresh.flush()

    def close(self) -> None:
        """Stop following the nodes and close the widgets."""
        refresh = getattr(self, "refresh", None)
        if refresh is not None:
            for node in self.nodes:
                unobserve(node, refresh, ["output"])
            refresh.cancel()
        super().close()

    def __repr__(self) -> str:
        names = "+".join(n.name for n in self.nodes)
        return (f"<SpectrumView {names} source={source_label(self.source)} "
                f"{self.quantity.value}: {len(self.spectra)} spectra, "
                f"{len(self.overlay_spectra)} overlaid>")
