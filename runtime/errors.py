"""The exceptions of ``vaeport.runtime``.

Each derives from :class:`vaeport.errors.VaeportError` and from ``ValueError`` (the caller
passed something wrong) or ``RuntimeError`` (the model or the execution provider is wrong),
so callers can catch whichever they already expect.
"""

from vaeport.errors import VaeportError


class InputError(VaeportError, ValueError):
    """An argument with the wrong shape, type, range or value."""


class EmptyDrawingError(InputError):
    """A drawing with no ink on it: there is no digit to preprocess."""


class ModelError(VaeportError, RuntimeError):
    """A model folder that is missing, unreadable, or whose manifest cannot be used."""


class ModelIntegrityError(ModelError):
    """A graph file whose SHA-256 differs from the one its manifest records."""


class ManifestMismatchError(ModelError):
    """A manifest that does not describe its graphs (latent size, input or output names)."""


class ProviderError(VaeportError, RuntimeError):
    """The requested execution provider (device) cannot be used."""


class InferenceError(VaeportError, RuntimeError):
    """onnxruntime failed while running a graph on valid input."""


class OnnxruntimeMissingError(ProviderError, ImportError):
    """onnxruntime is not installed: the base install of vaeport brings numpy alone."""
