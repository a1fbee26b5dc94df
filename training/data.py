"""MNIST through torchvision, held in memory as float tensors in [0, 1]."""

import os
from pathlib import Path

import torch

from vaeport.training.errors import DataError

DATA_ROOT_ENV = "VAEPORT_DATA_ROOT"
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SPLIT_SIZES = {True: 60_000, False: 10_000}


def resolve_data_root(data_root: Path | str | None) -> Path:
    """The folder that holds ``MNIST/raw``: the argument, else $VAEPORT_DATA_ROOT, else a per-user cache."""
    if data_root is not None:
        return Path(data_root).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vaeport" / "data"


def load_mnist(
    data_root: Path | str | None, train: bool, download: bool = True, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 ``[N, 1, 28, 28]`` in [0, 1] and labels as int64 ``[N]``."""
    from torchvision.datasets import MNIST

    root = resolve_data_root(data_root)
    if root.exists() and not root.is_dir():
        raise DataError(f"the MNIST data root {root} is a file; expected a folder that holds MNIST/raw/")
    raw = root / "MNIST" / "raw"
    split = "training" if train else "test"
    how_to_get = (
        f"Put the four original files ({', '.join(RAW_FILES)}) in {raw}, "
        f"point --data-root or ${DATA_ROOT_ENV} at a folder that holds MNIST/raw/, "
        "or run without --no-download on a machine with internet access."
    )
    try:
        dataset = MNIST(root=str(root), train=train, download=download)
    except RuntimeError as error:
        if "not found" in str(error).lower():
            raise DataError(f"the MNIST {split} files were not found in {raw}. {how_to_get}") from None
        raise DataError(f"could not read the MNIST {split} files in {raw} ({error}). {how_to_get}") from None
    except OSError as error:
        raise DataError(f"could not get the MNIST {split} files into {raw} ({error}). {how_to_get}") from None
    except Exception as error:  # torchvision raises assorted errors for truncated or corrupt IDX files
        raise DataError(
            f"the MNIST {split} files in {raw} are corrupt ({type(error).__name__}: {error}); "
            f"delete them and download again. {how_to_get}"
        ) from None

    images, labels = dataset.data, dataset.targets
    expected = SPLIT_SIZES[train]
    if tuple(images.shape) != (expected, 28, 28) or tuple(labels.shape) != (expected,):
        raise DataError(
            f"the MNIST {split} files in {raw} hold images {tuple(images.shape)} and labels {tuple(labels.shape)}; "
            f"expected ({expected}, 28, 28) and ({expected},). Delete them and download again."
        )
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.unsqueeze(1).float().div_(255.0), labels.long()
