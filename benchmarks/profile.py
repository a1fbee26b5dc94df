"""Where one cell's time goes: onnxruntime's profiler over the calls the cell times, per operator type and per node.

``vaeport bench --profile`` with one engine, part, batch size and thread count. The cell's own
engine is created with profiling switched on, warmed up, then called for the measuring time; its
sessions' traces give every node's kernel time. Nodes are the graph after onnxruntime's
optimisation, so fused kernels show under their own names (``QGemm`` and ``DynamicQuantizeMatMul``
for the int8 layers, ``FusedGemm`` for an fp32 layer and its ReLU). Shares are of the kernels'
total; the time of a call outside its kernels (the executor, allocations, copying inputs and
outputs) is reported beside it. Only the engines that run bare onnxruntime sessions can be
profiled: ``vaeport-*`` runs the same sessions as ``ort-cpu-*``, and ``torch-eager`` runs no ONNX.
"""

import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime

from vaeport.benchmarks.engines import ENGINES, create, quiet_options
from vaeport.benchmarks.errors import BenchmarkError
from vaeport.benchmarks.machine import describe_cpu
from vaeport.benchmarks.workload import PARTS, flops_per_image, make_input, read_fp32_model

PROFILED = tuple(name for name in ENGINES if name.startswith("ort-"))  # the engines built on OrtEngine
WARMUP_CALLS = 5
MIN_CALLS = 5
KERNEL_SUFFIX = "_kernel_time"


def profile_request(engines, parts, batches, threads) -> tuple[str, str, int, int]:
    """The one cell ``vaeport bench --profile`` was asked for, from its comma-separated options."""
    chosen = {"--engine": engines, "--part": parts, "--batch": batches, "--threads": threads}
    wrong = [
        f"{option} {','.join(map(str, values)) if values else '(none)'}"
        for option, values in chosen.items()
        if values is None or len(values) != 1
    ]
    if wrong:
        raise BenchmarkError(
            "--profile profiles one cell: give exactly one --engine, --part, --batch and --threads, such as "
            f"--engine ort-cpu-int8 --part decoder --batch 1024 --threads 1; got {'; '.join(wrong)}"
        )
    return engines[0], parts[0], batches[0], threads[0]


def profile_cell(
    out_dir: Path,
    model_dir: Path | None,
    engine: str,
    part: str,
    batch: int,
    threads: int,
    seconds: float = 1.0,
    seed: int = 0,
) -> dict:
    """Profile one cell and write ``profile.json`` and ``profile.md`` to ``out_dir``; returns the profile."""
    if engine not in ENGINES:
        raise BenchmarkError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if part not in PARTS:
        raise BenchmarkError(f"unknown part {part!r}: expected one of {', '.join(PARTS)}")
    if not seconds > 0:
        raise BenchmarkError(f"seconds must be positive, got {seconds}")
    if engine not in PROFILED:
        raise BenchmarkError(
            f"{engine} cannot be profiled: the profile reads onnxruntime's trace of bare sessions; expected one of "
            f"{', '.join(PROFILED)} (vaeport-fp32 and vaeport-int8 run the sessions of ort-cpu-fp32 and ort-cpu-int8)"
        )
    model = read_fp32_model(model_dir)
    model_dir = Path(model.location)
    with tempfile.TemporaryDirectory(prefix="vaeport-profile-") as trace_dir:
        options = quiet_options()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(trace_dir) / "trace")
        subject = create(engine, model_dir, threads, session_options=options)
        subject.activate()
        call = subject.runner(part, make_input(part, batch, model.manifest["latent_dim"], seed))
        for _ in range(WARMUP_CALLS):
            call()
        calls = _call_for(call, seconds)
        traces = {
            role: json.loads(Path(session.end_profiling()).read_text()) for role, session in subject.sessions.items()
        }
    roles = ("encoder", "decoder") if part == "roundtrip" else (part,)
    result = kernel_times({role: traces[role] for role in roles}, WARMUP_CALLS, calls)
    result.update(
        {
            "engine": engine,
            "part": part,
            "batch": batch,
            "threads": threads,
            "model_dir": str(model_dir),
            "gop_per_call": flops_per_image(model)[part] * batch * 1e-9,
            "cpu": describe_cpu()["model"],
            "onnxruntime": onnxruntime.__version__,
        }
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / "profile.md").write_text(markdown(result))
    return result


def _call_for(call, seconds: float) -> int:
    """Call ``call`` for ``seconds`` (``MIN_CALLS`` at least); returns how many calls were made."""
    count, deadline = 0, time.perf_counter() + seconds
    while count < MIN_CALLS or time.perf_counter() < deadline:
        call()
        count += 1
    return count


def kernel_times(traces: dict[str, list], skip_runs: int, calls: int) -> dict:
    """Kernel time per operator type and per node, per call, from onnxruntime traces (one per session).

    The first ``skip_runs`` runs of each session (the warm-up) are left out; ``calls`` runs remain.
    """
    per_type, per_node, run_us = defaultdict(float), defaultdict(float), []
    node_type = {}
    for role, events in traces.items():
        runs = sorted(
            (e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"), key=lambda e: e["ts"]
        )
        if len(runs) != skip_runs + calls:
            raise BenchmarkError(f"the {role} trace holds {len(runs)} runs; expected {skip_runs + calls}")
        start = runs[skip_runs]["ts"]
        run_us.append(np.mean([e["dur"] for e in runs[skip_runs:]]))
        for event in events:
            if event.get("cat") == "Node" and event["name"].endswith(KERNEL_SUFFIX) and event["ts"] >= start:
                node = f"{role}/{event['name'][: -len(KERNEL_SUFFIX)]}"
                node_type[node] = event["args"]["op_name"]
                per_type[node_type[node]] += event["dur"]
                per_node[node] += event["dur"]
    kernels = sum(per_type.values())
    if kernels <= 0:
        raise BenchmarkError("onnxruntime's trace holds no kernel times for the timed calls")
    nodes_of = defaultdict(int)
    for op in node_type.values():
        nodes_of[op] += 1
    return {
        "calls": calls,
        "run_us": float(sum(run_us)),
        "kernel_us": kernels / calls,
        "by_op_type": [
            {"op_type": op, "us": us / calls, "share": us / kernels, "nodes": nodes_of[op]}
            for op, us in sorted(per_type.items(), key=lambda item: -item[1])
        ],
        "by_node": [
            {"node": node, "op_type": node_type[node], "us": us / calls, "share": us / kernels}
            for node, us in sorted(per_node.items(), key=lambda item: -item[1])
        ],
    }


def markdown(result: dict) -> str:
    """The profile as a short report: the cell, then one table per operator type and one per node."""
    outside = result["run_us"] - result["kernel_us"]
    text = [
        f"# Profile: {result['engine']}, {result['part']}, batch {result['batch']}, {result['threads']} thread"
        f"{'s' if result['threads'] != 1 else ''}",
        "",
        f"- {result['cpu']}, onnxruntime {result['onnxruntime']}, model {result['model_dir']}",
        f"- {result['calls']} profiled calls after {WARMUP_CALLS} warm-up calls; a call takes {result['run_us']:,.0f} µs on average"
        f" ({result['gop_per_call'] / (result['run_us'] * 1e-6):.1f} GOP/s), of which kernels {result['kernel_us']:,.0f} µs"
        f" and {max(outside, 0):,.0f} µs outside them",
        "",
        "| operator | share | µs per call | nodes |",
        "|---|---|---|---|",
        *(
            f"| {row['op_type']} | {row['share']:.1%} | {row['us']:,.1f} | {row['nodes']} |"
            for row in result["by_op_type"]
        ),
        "",
        "| node | operator | share | µs per call |",
        "|---|---|---|---|",
        *(f"| {row['node']} | {row['op_type']} | {row['share']:.1%} | {row['us']:,.1f} |" for row in result["by_node"]),
    ]
    return "\n".join(text) + "\n"
