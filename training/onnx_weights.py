"""PyTorch modules rebuilt from an exported model folder, so PyTorch can run the very weights that ship.

The benchmarks compare PyTorch with onnxruntime on the same weights; the shipped model
has no checkpoint, only graphs whose initializers keep the modules' parameter names.
"""

import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from vaeport.contract import GRAPH_FILES, MANIFEST_FILE
from vaeport.training.config import TrainConfig
from vaeport.training.errors import CheckpointError
from vaeport.training.model import DecoderProbabilities, Encoder


def _load_weights(module: torch.nn.Module, graph_path: Path) -> None:
    initializers = {init.name: numpy_helper.to_array(init) for init in onnx.load(str(graph_path)).graph.initializer}
    state = {}
    for name, parameter in module.state_dict().items():
        if name not in initializers:
            raise CheckpointError(
                f"{graph_path.name} has no weight named {name!r}; it was not exported by this version of vaeport"
            )
        array = initializers[name]
        if array.shape != tuple(parameter.shape) and array.T.shape == tuple(parameter.shape):
            array = array.T
        state[name] = torch.from_numpy(array.copy())
    module.load_state_dict(state)
    module.eval()


def load_torch_modules(model_dir: Path) -> tuple[Encoder, DecoderProbabilities]:
    """The fp32 encoder and the decoder with its sigmoid, computing what the graphs compute."""
    model_dir = Path(model_dir)
    training = json.loads((model_dir / MANIFEST_FILE).read_text())["training"]
    model = TrainConfig.from_dict(training).build_model()
    encoder, decoder = model.encoder, DecoderProbabilities(model.decoder)
    _load_weights(encoder, model_dir / GRAPH_FILES["fp32"]["encoder"])
    _load_weights(decoder, model_dir / GRAPH_FILES["fp32"]["decoder"])
    return encoder, decoder
