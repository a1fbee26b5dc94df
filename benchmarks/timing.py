"""How cells are timed: warm-up, then every cell in each round, in a new shuffled order each round.

A cell is one engine, part, batch size and thread count. Interleaving means that whatever the machine
does meanwhile (another process, the clock speed) falls on all cells alike, so ratios between
engines taken from one run are fair. A turn times ``chunk`` calls one by one; the chunk is sized at
warm-up so that every cell gets about the same measuring time. A turn of a cell whose calls take
under 10 ms starts with one untimed call, so that it does not pay for the cache footprint and idle
threads of the cell before it; longer calls would hardly notice, and priming them would double the
time the largest batches take. Python's garbage collector is off while timing, as in ``timeit``.
"""

import ctypes
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PRIMING_BELOW_NS = 10_000_000
PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Cell:
    engine: str
    part: str
    batch: int
    threads: int
    call: Callable[[], object]
    activate: Callable[[], None]
    chunk: int = 1
    median_ns: float = 0.0
    samples_ns: list[int] = field(default_factory=list)
    setup: dict = field(default_factory=dict)


def median_latency_ns(call: Callable[[], object], seconds: float) -> float:
    """The median latency of ``call``, called one by one for ``seconds`` (three calls at least)."""
    latencies = []
    deadline = time.perf_counter() + seconds
    while len(latencies) < 3 or time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        call()
        latencies.append(time.perf_counter_ns() - start)
    return float(np.median(latencies))


def warm_up(cell: Cell, seconds: float, rounds: int, seconds_per_cell: float) -> None:
    """Run the cell for ``seconds`` (three calls at least), then size its chunk from the median latency."""
    cell.activate()
    cell.median_ns = median_latency_ns(cell.call, seconds)
    cell.chunk = max(1, round(seconds_per_cell / rounds / (cell.median_ns * 1e-9)))


def run_rounds(cells: list[Cell], rounds: int, rng: np.random.Generator, on_turn: Callable[[], None]) -> None:
    """Time every cell's chunk once per round, in a new order each round; ``on_turn`` after each chunk."""
    with _garbage_collector_off():
        for _ in range(rounds):
            for index in rng.permutation(len(cells)):
                cell = cells[index]
                call, record, clock = cell.call, cell.samples_ns.append, time.perf_counter_ns
                cell.activate()
                if cell.median_ns < PRIMING_BELOW_NS:
                    call()
                for _ in range(cell.chunk):
                    start = clock()
                    call()
                    record(clock() - start)
                on_turn()


def latency_summary(samples_ns: list[int]) -> dict:
    p50, p90, p99 = np.percentile(np.asarray(samples_ns) * 1e-3, [50, 90, 99])
    return {"samples": len(samples_ns), "p50_us": float(p50), "p90_us": float(p90), "p99_us": float(p99)}


def measure_setup(create: Callable[[], object], part: str, inputs: np.ndarray) -> dict:
    """Creation time, first-call latency and peak memory of a fresh engine for one cell.

    Peak memory is the rise of the process's resident-set high-water mark (Linux ``VmHWM``, reset
    through ``/proc/self/clear_refs``) over its resident size before the engine was created: what
    loading the model and running the first batch cost. Freed heap pages are first handed back to the
    system (glibc's ``malloc_trim``), else memory that earlier cells freed would be reused without
    showing. It is None where the kernel does not offer this.
    """
    baseline = _resident_bytes("VmRSS") if _reset_peak_resident() else None
    start = time.perf_counter_ns()
    engine = create()
    created = time.perf_counter_ns()
    engine.activate()
    call = engine.runner(part, inputs)
    first_start = time.perf_counter_ns()
    call()
    first_end = time.perf_counter_ns()
    peak = _resident_bytes("VmHWM") if baseline is not None else None
    return {
        "create_ms": (created - start) * 1e-6,
        "first_call_ms": (first_end - first_start) * 1e-6,
        "peak_mem_mib": (peak - baseline) / 2**20 if peak is not None and baseline is not None else None,
    }


@contextmanager
def _garbage_collector_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reset_peak_resident() -> bool:
    """Hand freed heap pages back first, then reset the high-water mark to what is resident now."""
    malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _resident_bytes(field_name: str) -> int | None:
    """A memory field of /proc/self/status (VmRSS now, VmHWM the peak) in bytes."""
    for line in PROC_STATUS.read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    return None
