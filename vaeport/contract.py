"""The ONNX contract between training and everything else, stated once.

Training writes graphs and a manifest that follow it; the runtime checks them against it.
"""

import hashlib
from pathlib import Path

FORMAT_VERSION = 1
IMAGE_SHAPE = (1, 28, 28)
BATCH_DIM = "N"
DIGITS = tuple(range(10))  # MNIST's classes; the manifest holds one example of each

ENCODER_INPUT = "image"
ENCODER_OUTPUTS = ("mu", "logvar")
DECODER_INPUT = "z"
DECODER_OUTPUT = "image"

MANIFEST_FILE = "manifest.json"
PRECISIONS = ("fp32", "int8")
# The int8 graphs' weights lie in -63..63 (7 bits) so that every CPU computes the same integers. Without
# VNNI, onnxruntime's x86 kernel for uint8 activations times int8 weights adds pairs of products in 16 bits
# with saturation (VPMADDUBSW): 2 x 255 x 127 overflows, 2 x 255 x 63 = 32130 does not. VNNI, AMX, ARM and
# WebAssembly sum in 32 bits, where either range is exact.
INT8_WEIGHT_MAX = 63
GRAPH_FILES = {
    "fp32": {"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
    "int8": {"encoder": "encoder.int8.onnx", "decoder": "decoder.int8.onnx"},
}


def graph_io(latent_dim: int) -> dict:
    """Input and output names and shapes of both graphs, as the manifest's ``io`` records them."""
    image = [BATCH_DIM, *IMAGE_SHAPE]
    latent = [BATCH_DIM, latent_dim]
    return {
        "encoder": {"inputs": {ENCODER_INPUT: image}, "outputs": {name: latent for name in ENCODER_OUTPUTS}},
        "decoder": {"inputs": {DECODER_INPUT: latent}, "outputs": {DECODER_OUTPUT: image}},
    }


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so large graphs need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
