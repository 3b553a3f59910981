"""The session dashboard: what displaying a :class:`~spec3nb.session.Spec3Session` shows.

A row of node buttons coloured by status (the pipeline graph), the auto/manual switch and a
run button, a source selector (MOS, WFSS), one tab per node with its status, error and
traceback on demand, its parameter form, its viewers and a log pane fed by the session's
event log and by Python logging, and a button that saves the products. The dashboard
follows the session through its event log; every redraw is throttled.

A tab's viewers are put into the page only when the tab is first shown: a bqplot figure
rendered in a hidden tab measures a zero-sized box and logs errors in the browser (negative
widths, "Could not create a view"). The viewers exist, and follow their nodes, from the start.
"""

from __future__ import annotations

import html
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from spec3nb.views import Throttle, source_label, sources_of
from spec3nb.views.cube import CubeView
from spec3nb.views.image import ImageView
from spec3nb.views.params import ParamForm
from spec3nb.views.spectrum import SpectrumView

#: status -> button colour
COLOURS = {"stale": "#c8c8c8", "queued": "#f2d16b", "running": "#5fa8e8", "done": "#6cc070",
           "skipped": "#b9a6d9", "error": "#e2625b"}
_IMAGE_STEPS = ("assign_mtwcs", "master_background", "exp_to_source", "mrs_imatch",
                "outlier_detection")
_LOGGERS = ("spec3nb", "jwst", "stpipe", "stcal")


class _NodeLogHandler(logging.Handler):
    """Send log records to the pane of the node that is running (or to the session's)."""

    def __init__(self, write: Callable[[str | None, str], None]) -> None:
        super().__init__(level=logging.INFO)
        self.write = write
        self.running: str | None = None
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.running, self.format(record))
        except Exception:  # a log pane must never break the pipeline
            self.handleError(record)


def _event_text(event: Any) -> str:
    return f"{event.status}" + (f": {event.message}" if event.message else "")


class NodePanel(widgets.VBox):
    """One node's tab: status, error (traceback on demand), parameters, views and log.

    The views are placed into the tab by :meth:`show_views` (when the tab is first shown).

    Parameters
    ----------
    node : Node
        The node.
    views : list
        Its viewers (spectrum, image, cube).
    """

    def __init__(self, node: Any, views: list, **kwargs: Any) -> None:
        self.node = node
        self.views = views
        self.state = widgets.HTML("")
        self.error = widgets.HTML("")
        self.show_traceback = widgets.ToggleButton(value=False, description="traceback",
                                                   icon="bug", layout={"display": "none"})
        self.traceback = widgets.HTML("")
        self.form = ParamForm(node)
        self.log_pane = widgets.Output(layout={"max_height": "12em", "overflow": "auto",
                                               "border": "1px solid #ddd"})
        self.show_traceback.observe(lambda _: self.update(), names="value")
        params = widgets.Accordion(children=[self.form], titles=("parameters",))
        params.selected_index = None
        log = widgets.Accordion(children=[self.log_pane], titles=("log",))
        self.view_box = widgets.VBox([])
        super().__init__(children=[self.state, widgets.HBox([self.error, self.show_traceback]),
                                   self.traceback, params, self.view_box, log], **kwargs)
        self.add_class("spec3nb-panel")
        self.update()

    @property
    def views_shown(self) -> bool:
        """Whether the views are in the tab yet."""
        return bool(self.view_box.children)

    def show_views(self) -> None:
        """Put the views into the tab (once; the tab is visible now)."""
        if not self.views_shown and self.views:
            self.view_box.children = tuple(self.views)

    def update(self) -> None:
        """Show the node's status, run time and error."""
        node = self.node
        took = "" if node.duration is None else f", last run {node.duration:.3f} s"
        message = f" - {html.escape(node.message)}" if node.message else ""
        colour = COLOURS.get(node.status, "#ccc")
        self.state.value = (f"<span style='background:{colour};padding:0 6px'>"
                            f"{node.status}</span>{took}{message}")
        failed = node.status == "error" and node.error
        self.error.value = (f"<span style='color:#b00020'>{html.escape(node.error)}</span>"
                            if failed else "")
        self.show_traceback.layout.display = "" if failed else "none"
        shown = failed and self.show_traceback.value
        self.traceback.value = (f"<pre style='font-size:85%'>{html.escape(node.traceback)}"
                                f"</pre>" if shown else "")

    def __repr__(self) -> str:
        return f"<NodePanel {self.node.name}: {self.node.status}, {len(self.views)} views>"


def views_for(session: Any, name: str) -> list:
    """The viewers of one step's tab.

    Parameters
    ----------
    session : Spec3Session
        The session.
    name : str
        The step.

    Returns
    -------
    list
        Spectrum, image or cube views of the step's output.
    """
    steps = session.step_names
    extract = session["extract_1d"] if "extract_1d" in steps else None
    if name in _IMAGE_STEPS:
        return [ImageView(session[name])]
    if name == "resample_spec":
        return [ImageView(session[name], aperture_node=extract)]
    if name == "cube_build":
        return [CubeView(session[name])]
    if name == "extract_1d":
        found: list = [SpectrumView([session[name]])]
        if "resample_spec" in steps:
            found.append(ImageView(session["resample_spec"], aperture_node=extract))
        return found
    if name == "combine_1d" and extract is not None:
        return [SpectrumView([extract, session[name]])]
    return [SpectrumView([session[name]])]


class Dashboard(widgets.VBox):
    """The notebook view of a session.

    Parameters
    ----------
    session : Spec3Session
        The session to show and drive.
    interval : float
        Seconds between redraws of the status display.
    """

    def __init__(self, session: Any, *, interval: float = 0.1, **kwargs: Any) -> None:
        self.session = session
        self.nodes = {n.name: n for n in session.nodes}
        self._thread: threading.Thread | None = None
        self._pending_lines: list[tuple[str | None, str]] = []
        self._lines_lock = threading.Lock()
        self.message = widgets.HTML("")
        self.session_log = widgets.Output(layout={"max_height": "8em", "overflow": "auto"})
        self._build_controls()
        self.panels = {n: NodePanel(node, views_for(session, n))
                       for n, node in self.nodes.items()}
        self.tabs = widgets.Tab(children=list(self.panels.values()),
                                titles=tuple(self.panels))
        self.tabs.observe(self._on_tab, names="selected_index")
        self.refresh = Throttle(self._redraw, interval)
        self.log_flush = Throttle(self._write_lines, interval)
        self._unsubscribe = session.graph.log.subscribe(self._on_event)
        self._handler = _NodeLogHandler(self._queue_line)
        for event in session.graph.log.events:  # what happened before the dashboard opened
            self._queue_line(event.node, _event_text(event))
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self._handler)
        header = widgets.HTML(self._header())
        top = widgets.HBox([self.auto, self.run_button, self.source])
        save = widgets.HBox([self.save_folder, self.overwrite, self.save_button])
        other = widgets.Accordion(children=[self.session_log], titles=("session log",))
        other.selected_index = None
        super().__init__(children=[header, self.graph_row, top, self.message, self.tabs, save,
                                   other], **kwargs)
        self.add_class("spec3nb-dashboard")
        self._on_tab()
        self._redraw()

    def _header(self) -> str:
        session = self.session
        return (f"<b>{html.escape(session.mode.label)}</b>: {len(session.inputs.science)} "
                f"exposures, product <code>{html.escape(str(session.inputs.template))}</code>")

    def _build_controls(self) -> None:
        self.node_buttons = {}
        items: list[widgets.Widget] = []
        for name in self.nodes:
            button = widgets.Button(description=name, layout={"width": "auto"})
            button.on_click(lambda _, n=name: self.select(n))
            self.node_buttons[name] = button
            items += [button, widgets.HTML("&rarr;")]
        self.graph_row = widgets.HBox(items[:-1])
        self.auto = widgets.ToggleButtons(options=["auto", "manual"],
                                          value="auto" if self.session.graph.auto
                                          else "manual", tooltip="recompute by itself?")
        self.auto.observe(self._on_auto, names="value")
        self.run_button = widgets.Button(description="Run", icon="play",
                                         tooltip="compute what is stale now")
        self.run_button.on_click(lambda _: self.run())
        self.source = widgets.Dropdown(options=[], description="source")
        self.source.observe(self._on_source, names="value")
        self.save_folder = widgets.Text(value="", placeholder="output folder",
                                        description="save to")
        self.overwrite = widgets.Checkbox(value=False, description="overwrite", indent=False)
        self.save_button = widgets.Button(description="Save products", icon="save")
        self.save_button.on_click(lambda _: self._in_thread(self._save))

    # ------------------------------------------------------------ actions

    def select(self, name: str) -> None:
        """Show the tab of node `name`."""
        self.tabs.selected_index = list(self.panels).index(name)

    def _on_tab(self, _: Any = None) -> None:
        index = self.tabs.selected_index
        if index is not None and 0 <= index < len(self.panels):
            list(self.panels.values())[index].show_views()

    def _on_auto(self, change: dict) -> None:
        self.session.graph.auto = change["new"] == "auto"

    def run(self) -> None:
        """Compute what is stale, off the kernel's thread (errors stay on their nodes)."""
        self._in_thread(self._run)

    def _run(self) -> None:
        try:
            self.session.graph.run()
            self.message.value = ""
        except Exception as exc:  # the failing node shows it; say which one here too
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"

    def _save(self) -> list:
        folder = self.save_folder.value.strip()
        if not folder:
            self.message.value = "<span style='color:#b00020'>give an output folder</span>"
            return []
        try:
            written = self.session.save(folder, overwrite=self.overwrite.value)
        except Exception as exc:  # reported in the dashboard, not raised into the comm
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return []
        self.message.value = (f"saved {len(written)} products to "
                              f"{html.escape(os.path.basename(os.path.normpath(folder)))}")
        return written

    def _in_thread(self, target: Callable[[], Any]) -> None:
        if self._thread is not None and self._thread.is_alive():
            return  # one action at a time
        self._thread = threading.Thread(target=target, name="spec3nb-dashboard", daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait for a run or save started here and for the graph to settle; redraw now."""
        if self._thread is not None:
            self._thread.join(timeout)
        settled = self.session.wait(timeout)
        self.flush()
        return settled

    def flush(self) -> None:
        """Apply pending redraws now (tests and notebooks that print right after a run)."""
        self.refresh.flush()
        self.log_flush.flush()
        self._redraw()
        for panel in self.panels.values():
            for view in panel.views:
                view.refresh.flush()

    # ------------------------------------------------------------ following the session

    def _on_event(self, event: Any) -> None:
        if event.status == "running":
            self._handler.running = event.node
        elif self._handler.running == event.node:
            self._handler.running = None
        self._queue_line(event.node, _event_text(event))
        self.refresh()

    def _queue_line(self, node: str | None, text: str) -> None:
        with self._lines_lock:
            self._pending_lines.append((node, text))
        self.log_flush()

    def _write_lines(self) -> None:
        with self._lines_lock:
            lines, self._pending_lines = self._pending_lines, []
        grouped: dict[str, list[str]] = {}
        for node, text in lines:
            grouped.setdefault(node if node in self.panels else "", []).append(text)
        for node, texts in grouped.items():
            pane = self.panels[node].log_pane if node else self.session_log
            pane.append_stdout("".join(t + "\n" for t in texts))

    def _redraw(self) -> None:
        for name, node in self.nodes.items():
            button = self.node_buttons[name]
            button.style.button_color = COLOURS.get(node.status, "#ccc")
            took = "" if node.duration is None else f", {node.duration:.3f} s"
            button.tooltip = f"{name}: {node.status}{took}" + (
                f" - {node.message}" if node.message else "")
            self.panels[name].update()
        self._update_sources()

    def _update_sources(self) -> None:
        keys: list[str] = []
        for node in self.nodes.values():
            found = sources_of(node)
            if len(found) > len(keys):
                keys = found
        options = [(source_label(k), k) for k in keys]
        if list(self.source.options) != options:
            keep = self.source.value
            self.source.options = options
            if keys:
                self.source.value = keep if keep in keys else keys[0]
        self.source.layout.display = "" if len(keys) > 1 else "none"

    def _on_source(self, change: dict) -> None:
        for panel in self.panels.values():
            for view in panel.views:
                view.set_source(change["new"])

    def close(self) -> None:
        """Stop following the session and close every widget."""
        self._unsubscribe()
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(self._handler)
        self.refresh.cancel()
        self.log_flush.cancel()
        for panel in self.panels.values():
            for view in panel.views:
                view.close()
            panel.form.close()
            panel.close()
        super().close()

    def __repr__(self) -> str:
        session = self.session
        steps = ", ".join(f"{n}: {node.status}" for n, node in self.nodes.items())
        mode = "auto" if session.graph.auto else "manual"
        sources = len(self.source.options)
        return (f"<Dashboard {session.mode.label}, {len(session.inputs.science)} exposures, "
                f"{sources} sources, {mode}: {steps}>")
