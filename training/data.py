"""MNIST for training: torchvision downloads the files when they are missing, numpy reads them,
and they are held in memory as float tensors in [0, 1]."""

from pathlib import Path

import numpy as np
import torch

from vaeport.training.errors import DataError
from vaeport.training.mnist_files import (
    how_to_get,
    raw_folder,
    read_mnist,
    resolve_data_root,
    split_present,
    to_unit_floats,
)


def download_mnist(data_root: Path | str | None, train: bool) -> None:
    """Have torchvision fetch a split's raw files into ``data_root/MNIST/raw`` unless they are there."""
    root = resolve_data_root(data_root)
    raw = raw_folder(root)
    if split_present(root, train):
        return
    from torchvision.datasets import MNIST

    split = "training" if train else "test"
    try:
        MNIST(root=str(root), train=train, download=True)
    except Exception as error:  # network and archive errors of every kind
        raise DataError(
            f"could not get the MNIST {split} files into {raw} ({type(error).__name__}: {error}). {how_to_get(raw)}"
        ) from None


def load_mnist(
    data_root: Path | str | None, train: bool, download: bool = True, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 ``[N, 1, 28, 28]`` in [0, 1] and labels as int64 ``[N]``."""
    if download:
        download_mnist(data_root, train)
    images, labels = read_mnist(data_root, train, limit)
    return torch.from_numpy(to_unit_floats(images)), torch.from_numpy(labels.astype(np.int64))
