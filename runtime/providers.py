"""Execution providers: what the installed onnxruntime offers, what the caller asked for, and
what each session really got.

onnxruntime silently drops a provider whose libraries fail to load (CUDA without its cuDNN,
say) and runs on the CPU instead. So after creating a session its providers are compared
with the request: ``device="auto"`` then settles on the CPU and records why, an explicit
``device="cuda"`` raises :class:`ProviderError`.
"""

import importlib.metadata
import re
from dataclasses import dataclass

import onnxruntime as ort

from vaeport.runtime.errors import InputError, ModelError, ProviderError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# Distributions that all install the one `onnxruntime` module, so that several at once shadow each other.
ONNXRUNTIME_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino")
_DEVICE = re.compile(r"(auto|cpu|cuda)(?::(\d+))?")


@dataclass(frozen=True)
class Device:
    """A parsed ``device`` argument: kind ``auto``, ``cpu`` or ``cuda`` and the CUDA device id."""

    kind: str
    device_id: int = 0

    def __str__(self) -> str:
        return f"cuda:{self.device_id}" if self.kind == "cuda" else self.kind


def parse_device(device) -> Device:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    match = _DEVICE.fullmatch(device) if isinstance(device, str) else None
    if match is None or (match[2] is not None and match[1] != "cuda"):
        raise InputError(f'device must be "auto", "cpu", "cuda" or "cuda:N" (N a GPU index); got {device!r}')
    return Device(match[1], int(match[2] or 0))


def installed_onnxruntime() -> dict[str, str]:
    """The installed onnxruntime distributions and their versions, read from package metadata."""
    found = {}
    for name in ONNXRUNTIME_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def conflict_note() -> str | None:
    """A warning when several onnxruntime distributions share the ``onnxruntime`` module, else None."""
    found = installed_onnxruntime()
    if len(found) < 2:
        return None
    listed = " and ".join(f"{name} {version}" for name, version in found.items())
    return (
        f"{listed} are all installed; they provide the same `onnxruntime` module, so whichever was installed "
        "last wins. Uninstall all of them, then install one: pip install 'vaeport[gpu]' or 'vaeport[cpu]'"
    )


def _installed_text() -> str:
    found = installed_onnxruntime()
    packages = ", ".join(f"{name} {version}" for name, version in found.items()) or "no onnxruntime distribution"
    return f"installed: {packages}, offering {', '.join(ort.get_available_providers())}"


def _cuda_missing_reason() -> str:
    """Why CUDA cannot be used when the installed onnxruntime does not list it."""
    reason = (
        f"the installed onnxruntime offers no {CUDA} ({_installed_text()}); "
        "for CUDA install onnxruntime-gpu in its place: pip uninstall onnxruntime && pip install 'vaeport[gpu]'"
    )
    note = conflict_note()
    return f"{reason}. Note: {note}" if note else reason


def _cuda_dropped_reason(device: Device) -> str:
    """Why CUDA cannot be used when onnxruntime lists it but a session fell back to the CPU."""
    return (
        f"onnxruntime lists {CUDA} but could not use it on {device} and fell back to the CPU ({_installed_text()}). "
        "Usually the CUDA or cuDNN libraries this onnxruntime-gpu build needs did not load (onnxruntime's log "
        "names the missing one; onnxruntime.preload_dlls() can load them from the nvidia-* pip packages or "
        "PyTorch), or there is no such GPU"
    )


class SessionOpener:
    """Creates the sessions of one model on one device, the first of them settling ``auto``.

    ``note`` says why an ``auto`` request ended up on the CPU (None when it did not).
    """

    def __init__(self, device: Device, options: ort.SessionOptions):
        self.requested = device
        self.options = options
        self.note: str | None = None
        if device.kind == "cpu":
            self.device = device
        elif CUDA in ort.get_available_providers():
            self.device = Device("cuda", device.device_id)
        elif device.kind == "cuda":
            raise ProviderError(f"device={str(device)!r} cannot be used: {_cuda_missing_reason()}")
        else:
            self.device, self.note = Device("cpu"), _cuda_missing_reason()

    def _providers(self) -> list:
        if self.device.kind == "cuda":
            return [(CUDA, {"device_id": self.device.device_id}), CPU]
        return [CPU]

    def open_all(self, graphs: dict[str, tuple[str, bytes]]) -> dict[str, ort.InferenceSession]:
        """One session per graph (``{role: (file name, bytes)}``), all on one device.

        When ``auto`` falls back to the CPU part-way, the graphs opened before are opened again.
        """
        while True:
            device = self.device
            sessions = {role: self._open(model, file_name) for role, (file_name, model) in graphs.items()}
            if self.device == device:
                return sessions

    def _open(self, model: bytes, file_name: str) -> ort.InferenceSession:
        try:
            session = ort.InferenceSession(model, self.options, providers=self._providers())
        except Exception as error:  # onnxruntime raises its own pybind11 types; none may reach the caller
            if self.device.kind != "cuda":
                raise ModelError(f"onnxruntime could not load {file_name}: {error}") from None
            return self._cuda_failed(model, file_name, f"creating a CUDA session for {file_name} failed: {error}")
        if self.device.kind == "cuda" and session.get_providers()[0] != CUDA:
            return self._cuda_failed(model, file_name, _cuda_dropped_reason(self.device))
        return session

    def _cuda_failed(self, model: bytes, file_name: str, reason: str) -> ort.InferenceSession:
        if self.requested.kind == "cuda":
            raise ProviderError(f"device={str(self.requested)!r} cannot be used: {reason}")
        self.device, self.note = Device("cpu"), reason
        return self._open(model, file_name)
