"""vaeport's embeddable runtime: the shipped encoder and decoder on onnxruntime, numpy in and out.

    from vaeport.runtime import VAERuntime, preprocess_drawing
    vae = VAERuntime.load()                       # the shipped model, CUDA if it really works, else CPU
    mu, logvar = vae.encode(preprocess_drawing(canvas))
    digit = vae.decode(mu)                        # float32 [28, 28] in [0, 1]

Only numpy and onnxruntime are imported here; torch and gradio never are.
"""

from vaeport.runtime.errors import (
    EmptyDrawingError,
    InferenceError,
    InputError,
    ManifestMismatchError,
    ModelError,
    ModelIntegrityError,
    OnnxruntimeMissingError,
    ProviderError,
)

try:
    import onnxruntime  # noqa: F401  (checked here, before any module of this package needs it)
except ImportError as error:
    raise OnnxruntimeMissingError(
        f"vaeport.runtime needs onnxruntime, which could not be imported ({error}); install it with "
        "pip install 'vaeport[cpu]', or pip install 'vaeport[gpu]' for CUDA (never both)"
    ) from None

from vaeport.runtime.preprocess import preprocess_drawing  # noqa: E402
from vaeport.runtime.vae import VAERuntime  # noqa: E402

__all__ = [
    "VAERuntime",
    "preprocess_drawing",
    "InputError",
    "EmptyDrawingError",
    "ModelError",
    "ModelIntegrityError",
    "ManifestMismatchError",
    "ProviderError",
    "OnnxruntimeMissingError",
    "InferenceError",
]
