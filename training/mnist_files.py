"""MNIST's four original IDX files, read with numpy alone, and where to find them.

``vaeport evaluate`` reads the test digits with this module and needs no torch; training
reads them with it too, after torchvision has downloaded them if they were missing.
"""

import os
from pathlib import Path

import numpy as np

from vaeport.training.errors import DataError

DATA_ROOT_ENV = "VAEPORT_DATA_ROOT"
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {True: 60_000, False: 10_000}
IDX_UBYTE = 0x08  # the IDX type code of unsigned bytes, the only one MNIST uses


def resolve_data_root(data_root: Path | str | None) -> Path:
    """The folder that holds ``MNIST/raw``: the argument, else $VAEPORT_DATA_ROOT, else a per-user cache."""
    if data_root is not None:
        return Path(data_root).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vaeport" / "data"


def raw_folder(root: Path) -> Path:
    """``root/MNIST/raw``; a root that is a file is refused."""
    if root.exists() and not root.is_dir():
        raise DataError(f"the MNIST data root {root} is a file; expected a folder that holds MNIST/raw/")
    return root / "MNIST" / "raw"


def how_to_get(raw: Path) -> str:
    return (
        f"Put the four original files ({', '.join(RAW_FILES)}) in {raw}, "
        f"point --data-root or ${DATA_ROOT_ENV} at a folder that holds MNIST/raw/, "
        "or run without --no-download on a machine with internet access."
    )


def split_present(root: Path, train: bool) -> bool:
    raw = raw_folder(root)
    return all((raw / name).is_file() for name in SPLIT_FILES[train])


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes as a uint8 array of the shape its header gives.

    The header is two zero bytes, the type code, the number of dimensions, then each
    dimension as a big-endian 32-bit integer; the data follows.
    """
    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_UBYTE:
        raise DataError(
            f"{path} is not an IDX file of unsigned bytes (its first bytes are {data[:4].hex()}); it is corrupt"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} ends inside its header; it is corrupt or truncated")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise DataError(
            f"{path} holds {len(data)} bytes; its header {list(shape)} says {expected}. It is corrupt or truncated"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist(data_root: Path | str | None, train: bool, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 ``[N, 28, 28]`` and labels as uint8 ``[N]`` from the raw files, which must be there."""
    root = resolve_data_root(data_root)
    raw = raw_folder(root)
    split = "training" if train else "test"
    if not split_present(root, train):
        raise DataError(f"the MNIST {split} files were not found in {raw}. {how_to_get(raw)}")
    image_file, label_file = (raw / name for name in SPLIT_FILES[train])
    try:
        images, labels = read_idx(image_file), read_idx(label_file)
    except DataError as error:
        raise DataError(
            f"the MNIST {split} files in {raw} are corrupt: {error}. Delete them and download again. {how_to_get(raw)}"
        ) from None
    except OSError as error:
        raise DataError(f"could not read the MNIST {split} files in {raw} ({error}). {how_to_get(raw)}") from None
    expected = SPLIT_SIZES[train]
    if images.shape != (expected, 28, 28) or labels.shape != (expected,):
        raise DataError(
            f"the MNIST {split} files in {raw} hold images {images.shape} and labels {labels.shape}; "
            f"expected ({expected}, 28, 28) and ({expected},). Delete them and download again."
        )
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def to_unit_floats(images: np.ndarray) -> np.ndarray:
    """uint8 ``[N, 28, 28]`` to float32 ``[N, 1, 28, 28]`` in [0, 1] (value / 255, as the model was trained)."""
    return (images.astype(np.float32) / np.float32(255.0))[:, None]
