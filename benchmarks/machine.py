"""What the numbers were measured on: the CPU and its fp32 peak, the GPU, libraries and thread settings.

The fp32 peak is ``cores x clock x FMA units x vector lanes x 2`` (a fused multiply-add is two FLOPs).
Lanes come from the /proc/cpuinfo flags (avx512f: 16 fp32 lanes, avx/avx2: 8, otherwise 4). The number
of FMA units per core is not in /proc/cpuinfo: two is what Intel cores since Haswell and AMD cores since
Zen 2 have, and is assumed. The clock is cpufreq's maximum where the kernel exposes it, else the
highest ``cpu MHz`` in /proc/cpuinfo (on a virtual machine, the host's nominal clock).
"""

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

FMA_UNITS_PER_CORE = 2
LIBRARIES = ("vaeport", "numpy", "onnxruntime", "onnxruntime-gpu", "onnx", "torch", "matplotlib")
THREAD_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8")
CPUFREQ_MAX = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")


def usable_cores() -> int:
    """Logical CPUs this process may run on (its affinity mask, which containers narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read_cpuinfo() -> list[dict[str, str]]:
    """One dict per logical CPU; empty where /proc/cpuinfo does not exist."""
    path = Path("/proc/cpuinfo")
    if not path.exists():
        return []
    cpus = []
    for block in path.read_text().strip().split("\n\n"):
        fields = (line.split(":", 1) for line in block.splitlines() if ":" in line)
        cpus.append({key.strip(): value.strip() for key, value in fields})
    return cpus


def _clock_mhz(cpus: list[dict[str, str]]) -> tuple[float | None, str]:
    if CPUFREQ_MAX.exists():
        return int(CPUFREQ_MAX.read_text()) / 1000, "cpufreq cpuinfo_max_freq"
    clocks = [float(cpu["cpu MHz"]) for cpu in cpus if "cpu MHz" in cpu]
    return (max(clocks), "/proc/cpuinfo cpu MHz") if clocks else (None, "unknown")


def _fp32_lanes(flags: set[str]) -> int:
    if "avx512f" in flags:
        return 16
    if "avx" in flags or "avx2" in flags:
        return 8
    return 4


def describe_cpu() -> dict:
    """CPU model, flags, cores and the fp32 peak with every factor that went into it."""
    cpus = _read_cpuinfo()
    flags = set(cpus[0].get("flags", "").split()) if cpus else set()
    physical = len({(cpu.get("physical id"), cpu.get("core id")) for cpu in cpus}) or None
    usable = usable_cores()
    peak_cores = min(usable, physical or usable)
    clock_mhz, clock_source = _clock_mhz(cpus)
    lanes = _fp32_lanes(flags)
    flops_per_lane = 2 if flags & {"fma", "avx512f"} else 1
    per_core = clock_mhz * 1e-3 * FMA_UNITS_PER_CORE * lanes * flops_per_lane if clock_mhz else None
    return {
        "model": cpus[0].get("model name", platform.processor()) if cpus else platform.processor(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical,
        "usable_cpus": usable,
        "vector_flags": [flag for flag in VECTOR_FLAGS if flag in flags],
        "flags": sorted(flags),
        "clock_mhz": clock_mhz,
        "clock_source": clock_source,
        "fp32_lanes": lanes,
        "fma_units_per_core": FMA_UNITS_PER_CORE,
        "flops_per_lane_per_cycle": flops_per_lane,
        "peak_cores": peak_cores,
        "peak_gflops_per_core": per_core,
        "peak_gflops": per_core * peak_cores if per_core else None,
        "peak_formula": (
            f"{peak_cores} cores x {clock_mhz / 1000:.3f} GHz x {FMA_UNITS_PER_CORE} FMA units x {lanes} fp32 lanes"
            f" x {flops_per_lane} FLOP = {per_core * peak_cores:.1f} GFLOP/s"
            if per_core
            else "unknown (no clock in /proc/cpuinfo)"
        ),
    }


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    query = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
    )
    return [line.strip() for line in query.stdout.splitlines() if line.strip()] if query.returncode == 0 else []


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def describe_machine() -> dict:
    import onnxruntime

    return {
        "cpu": describe_cpu(),
        "gpus": _gpus(),
        "os": platform.platform(),
        "versions": _versions(),
        "onnxruntime_providers": onnxruntime.get_available_providers(),
        "thread_environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
