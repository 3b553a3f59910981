"""The reactive graph: structure, invalidation, caching, errors, auto mode, threads."""

from __future__ import annotations

import threading
import time

import pytest
import traitlets

from spec3nb.graph import DONE, ERROR, SKIPPED, STALE, Graph, GraphError
from spec3nb.params import FLOAT, FLOATS, INT, Param
from spec3nb.steps.spec import SKIPPED as STEP_SKIPPED
from spec3nb.steps.spec import StepResult

SCALE = Param("scale", FLOAT, 2.0, "multiplier")
OFFSET = Param("offset", INT, 0, "added", minimum=-10, maximum=10)
SNR = Param("snr", FLOATS, (5.0, 4.0), "pair", length=2)


class Counter:
    """A computation that counts its calls."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


def chain(auto: bool = False):
    graph = Graph(auto=auto, debounce=0.02)
    source = Counter(lambda: 10)
    double = Counter(lambda x, scale: x * scale)
    plus = Counter(lambda x, offset: x + offset)
    graph.add("source", source)
    graph.add("double", double, inputs=["source"], params=[SCALE])
    graph.add("plus", plus, inputs=["double"], params=[OFFSET])
    return graph, source, double, plus


def test_chain_runs_in_order_and_caches() -> None:
    graph, source, double, plus = chain()
    graph.run()
    assert graph["plus"].output == 20 and graph["plus"].status == DONE
    graph["plus"].offset = 3
    assert graph.stale() == ["plus"]
    graph.run()
    assert graph["plus"].output == 23
    assert (source.calls, double.calls, plus.calls) == (1, 1, 2)


def test_a_change_marks_only_descendants_stale() -> None:
    graph, *_ = chain()
    graph.add("side", lambda x: -x, inputs=["source"])
    graph.run()
    graph["double"].scale = 3.0
    assert {n.name: n.status for n in graph.nodes} == {
        "source": DONE, "side": DONE, "double": STALE, "plus": STALE}


def test_setting_a_parameter_back_is_a_cache_hit() -> None:
    graph, _, double, plus = chain()
    graph.run()
    graph["double"].scale = 5.0
    graph.run()
    assert graph["plus"].output == 50
    graph["double"].scale = 2.0
    graph.run()
    assert graph["plus"].output == 20
    assert (double.calls, plus.calls) == (2, 2)
    assert graph["plus"].duration == 0.0
    assert graph.log.for_node("plus")[-1].message == "cached"


def test_diamond_computes_the_join_once() -> None:
    graph = Graph()
    join = Counter(lambda a, b: a + b)
    graph.add("top", lambda: 1)
    graph.add("left", lambda x: x + 1, inputs=["top"])
    graph.add("right", lambda x: x * 10, inputs=["top"])
    graph.add("join", join, inputs=["left", "right"])
    assert graph.order() == ["top", "left", "right", "join"]
    graph.run()
    assert graph["join"].output == 12 and join.calls == 1


def test_cycles_and_duplicates_refused() -> None:
    graph, *_ = chain()
    with pytest.raises(ValueError, match="plus -> source would make a cycle"):
        graph.connect("plus", "source")
    with pytest.raises(ValueError, match="plus -> plus would make a cycle"):
        graph.connect("plus", "plus")
    with pytest.raises(ValueError, match="named 'plus' already"):
        graph.add("plus", lambda: 0)
    with pytest.raises(KeyError, match="no node named 'nope'"):
        graph.add("x", lambda y: y, inputs=["nope"])


def test_errors_stay_on_their_node() -> None:
    graph, *_ = chain()

    def broken(x):
        raise ValueError("bad slit")

    graph.add("broken", broken, inputs=["source"])
    graph.add("after", lambda x: x, inputs=["broken"])
    with pytest.raises(GraphError, match="broken: ValueError: bad slit"):
        graph.run()
    assert graph["broken"].status == ERROR
    assert "ValueError: bad slit" in graph["broken"].traceback
    graph.run(["plus"])  # the other branch still runs
    assert graph["plus"].status == DONE and graph["after"].status == STALE


def test_skipped_results_are_marked() -> None:
    graph = Graph()
    graph.add("maybe", lambda: StepResult((), STEP_SKIPPED, "one exposure"))
    graph.run()
    assert graph["maybe"].status == SKIPPED
    assert graph.log.for_node("maybe")[-1].message == "one exposure"


def test_parameters_are_typed_traits() -> None:
    graph = Graph()
    node = graph.add("n", lambda snr, offset: snr, params=[SNR, OFFSET])
    assert node.snr == (5.0, 4.0)
    node.snr = "6 3"
    assert node.snr == (6.0, 3.0)
    with pytest.raises(traitlets.TraitError, match="n.offset: 11 is above the maximum 10"):
        node.offset = 11
    with pytest.raises(AttributeError, match="no parameter 'snrr'"):
        node.set_param("snrr", 1)
    node.reset()
    assert node.snr == (5.0, 4.0)
    assert repr(node) == "<Node n: stale>"
    node.offset = 2
    assert repr(node) == "<Node n: stale (offset=2)>"


def test_hold_batches_edits_into_one_run() -> None:
    graph, _, double, plus = chain(auto=True)
    assert graph.wait()
    assert graph["plus"].output == 20
    with graph.hold():
        graph["double"].scale = 4.0
        graph["plus"].offset = 1
        time.sleep(0.1)  # longer than the debounce: nothing may start inside the block
        assert graph["plus"].status == STALE
    assert graph.wait()
    assert graph["plus"].output == 41
    assert (double.calls, plus.calls) == (2, 2)


def test_auto_mode_debounces_a_burst_of_changes() -> None:
    graph, _, double, _ = chain(auto=True)
    graph.debounce = 0.1
    assert graph.wait()
    for value in range(3, 30):
        graph["double"].scale = float(value)
    assert graph.wait()
    assert graph["plus"].output == 290
    assert double.calls <= 3  # the first run, maybe one mid-burst, the last


def test_a_superseded_run_never_publishes() -> None:
    graph = Graph(auto=True, debounce=0.01)
    started, release = threading.Event(), threading.Event()

    def slow(scale):
        if scale == 1.0:
            started.set()
            release.wait(5)
        return scale

    graph.add("slow", slow, params=[Param("scale", FLOAT, 1.0, "")])
    assert started.wait(5)
    graph["slow"].scale = 2.0  # arrives while the first run is computing
    release.set()
    assert graph.wait()
    assert graph["slow"].output == 2.0
    published = [e.message for e in graph.log.for_node("slow") if e.status == DONE]
    assert len(published) == 1


def test_edits_from_other_threads_are_safe() -> None:
    graph, *_ = chain(auto=True)
    graph.debounce = 0.01

    def edit(start):
        for i in range(20):
            graph["plus"].offset = (start + i) % 10

    threads = [threading.Thread(target=edit, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert graph.wait()
    assert graph["plus"].status == DONE
    assert graph["plus"].output == 20 + graph["plus"].offset


def test_event_log_is_immutable_and_ordered() -> None:
    graph, *_ = chain()
    graph.run()
    events = graph.log.events
    assert [e.seq for e in events] == list(range(len(events)))
    with pytest.raises(AttributeError):
        events[0].status = "done"
    assert [e.status for e in graph.log.for_node("plus")] == [
        "stale", "queued", "running", "done"]


def test_manual_mode_waits_for_run() -> None:
    graph, source, *_ = chain(auto=False)
    time.sleep(0.05)
    assert source.calls == 0 and graph["plus"].status == STALE
    graph.auto = True
    assert graph.wait()
    assert graph["plus"].status == DONE


def test_an_error_clears_when_the_cause_is_fixed() -> None:
    graph = Graph()
    graph.add("source", lambda: 10)

    def divide(x, divisor):
        return x / divisor

    graph.add("divide", divide, inputs=["source"], params=[Param("divisor", FLOAT, 0.0, "")])
    graph.add("after", lambda x: x + 1, inputs=["divide"])
    with pytest.raises(GraphError, match="divide: ZeroDivisionError"):
        graph.run()
    assert graph["divide"].status == ERROR and graph["divide"].error
    graph["divide"].divisor = 2.0
    graph.run()
    assert graph["divide"].status == DONE and graph["divide"].error == ""
    assert graph["divide"].traceback == "" and graph["after"].output == 6.0


def test_fan_out_reruns_only_the_changed_branch() -> None:
    graph = Graph()
    calls = {"a": 0, "b": 0}

    def branch(name):
        def compute(x, scale):
            calls[name] += 1
            return x * scale
        return compute

    graph.add("source", lambda: 3)
    graph.add("a", branch("a"), inputs=["source"], params=[SCALE])
    graph.add("b", branch("b"), inputs=["source"], params=[SCALE])
    graph.run()
    graph["a"].scale = 10.0
    assert graph.stale() == ["a"]
    graph.run()
    assert (graph["a"].output, graph["b"].output, calls) == (30.0, 6.0, {"a": 2, "b": 1})
