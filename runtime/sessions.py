"""The one way vaeport opens onnxruntime sessions.

``open_model`` opens the graphs of a model folder: each graph's SHA-256 is checked against
the manifest before onnxruntime sees its bytes, its inputs, outputs and latent size after,
and the session must really run on the device asked for. ``open_graph`` opens one graph
that has no manifest (a graph being exported, a benchmark's own test graph), with the same
device checks. Every other module of vaeport gets its sessions from these two.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from vaeport.runtime.arrays import count
from vaeport.runtime.errors import InputError, ModelError
from vaeport.runtime.model_files import ModelFiles, check_graph, read_model
from vaeport.runtime.providers import SessionOpener, parse_device


@dataclass(frozen=True)
class OpenModel:
    """A model folder's checked graphs of ``precision``, and the sessions running them.

    ``opener`` tells the device asked for (``requested``), the one used (``device``) and why
    they differ (``note``).
    """

    files: ModelFiles
    precision: str
    sessions: dict[str, ort.InferenceSession]
    opener: SessionOpener


def build_options(threads=None, session_options=None) -> ort.SessionOptions:
    """``session_options`` as given, or new options at the highest graph optimisation level;
    ``threads``, when given, sets the intra-op thread count of either."""
    if session_options is not None and not isinstance(session_options, ort.SessionOptions):
        raise InputError(
            f"session_options must be an onnxruntime.SessionOptions or None; got {type(session_options).__name__}"
        )
    if threads is not None:
        threads = count(threads, "threads")
    options = session_options
    if options is None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
    return options


def open_model(model_dir=None, precision="fp32", device="auto", threads=None, session_options=None) -> OpenModel:
    """The encoder and decoder of ``model_dir`` (None: the shipped model) at ``precision``, checked, on ``device``."""
    requested = parse_device(device)
    options = build_options(threads, session_options)
    files = read_model(model_dir, precision)
    opener = SessionOpener(requested, options)
    sessions = opener.open_all(files.graphs)
    for role, session in sessions.items():
        check_graph(session, role, files.graphs[role][0], files.manifest)
    return OpenModel(files, precision, sessions, opener)


def open_graph(graph, device="cpu", threads=None, session_options=None) -> ort.InferenceSession:
    """One graph, given as its bytes or a file path, on ``device``; no manifest is involved."""
    if isinstance(graph, (str, os.PathLike)):
        path = Path(graph)
        try:
            name, graph = path.name, path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read the graph {path} ({error.strerror or error})") from None
    elif isinstance(graph, bytes):
        name = "the graph"
    else:
        raise InputError(f"graph must be the bytes of an ONNX model or a file path; got {type(graph).__name__}")
    opener = SessionOpener(parse_device(device), build_options(threads, session_options))
    return opener.open_all({"graph": (name, graph)})["graph"]
