from vaeport.errors import VaeportError


class BenchmarkError(VaeportError, ValueError):
    """A benchmark that cannot run: unknown engine or part, a model folder that does not load, no engine left."""


class EngineUnavailable(VaeportError, RuntimeError):
    """An engine that cannot run on this machine (torch missing, no CUDA); it is skipped with this note."""
