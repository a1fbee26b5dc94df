"""Checkpoints: the trained encoder, decoder and learned prior (if any) with the configuration that built them.

A checkpoint whose configuration names no prior loads as a model with the standard normal prior
(see ``TrainConfig.from_dict``).
"""

import os
from pathlib import Path

import torch

from vaeport.training.config import TrainConfig
from vaeport.training.errors import CheckpointError
from vaeport.training.model import VAE

CHECKPOINT_FORMAT = "vaeport-checkpoint-v1"


def save_checkpoint(path: Path, model: VAE, config: TrainConfig, history: list[dict], duration_s: float) -> None:
    """Written to a temporary file and renamed, so a checkpoint on disk is always whole."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": config.to_dict(),
        "model": model.state_dict(),
        "history": history,
        "duration_s": duration_s,
        "torch_version": str(torch.__version__),
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path) -> tuple[VAE, dict]:
    """The model in eval mode and the checkpoint's other entries (config, history, ...)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist or is not a file; expected checkpoint.pt from `vaeport train`"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} could not be read ({type(error).__name__}: {error}); it is corrupt or not a PyTorch file"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a vaeport checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    try:
        config = TrainConfig.from_dict(state["config"])
        model = config.build_model()
        model.load_state_dict(state["model"])
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} does not describe a valid model ({type(error).__name__}: {error})"
        ) from None
    model.eval()
    return model, {**state, "config": config}
