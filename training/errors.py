from vaeport.errors import VaeportError


class DataError(VaeportError, RuntimeError):
    """MNIST files missing, unreadable or not what they should be."""


class ConfigError(VaeportError, ValueError):
    """A training hyperparameter that makes no sense."""


class CheckpointError(VaeportError, RuntimeError):
    """A checkpoint that cannot be read or does not describe a vaeport model."""


class ModelFolderError(VaeportError, RuntimeError):
    """A graph onnxruntime cannot load, or a model folder whose manifest or graphs cannot be used."""


class ExportError(VaeportError, RuntimeError):
    """An export that failed a check; the previous model was left in place."""
