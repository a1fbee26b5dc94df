"""The engines, all on the same weights: PyTorch eager, bare onnxruntime sessions and the vaeport runtime.

An engine turns a part and its input into a call without arguments that does the work once; the
measurement times that call. Engines take numpy arrays and return numpy arrays, as an application
would, except ``ort-cuda-fp32-iobinding``, which keeps inputs and outputs on the GPU.
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime

from vaeport.benchmarks.errors import BenchmarkError, EngineUnavailable
from vaeport.contract import DECODER_INPUT, DECODER_OUTPUT, ENCODER_INPUT, ENCODER_OUTPUTS, IMAGE_SHAPE
from vaeport.runtime.errors import ModelError, ProviderError
from vaeport.runtime.providers import CPU, CUDA
from vaeport.runtime.sessions import open_model

DEVICES = {CPU: "cpu", CUDA: "cuda"}


class Engine:
    """``encode`` and ``decode`` on numpy arrays; ``runner`` binds one part to its input for timing."""

    def encode(self, images: np.ndarray):
        raise NotImplementedError

    def decode(self, z: np.ndarray):
        raise NotImplementedError

    def roundtrip(self, images: np.ndarray):
        """Encode, then decode the posterior means: what a reconstruction costs."""
        return self.decode(self.encode(images)[0])

    def activate(self) -> None:
        """Apply the engine's process-wide settings; called before each run of its calls."""

    def runner(self, part: str, inputs: np.ndarray) -> Callable[[], object]:
        work = {"encoder": self.encode, "decoder": self.decode, "roundtrip": self.roundtrip}[part]
        return partial(work, inputs)


class TorchEngine(Engine):
    """The graphs' weights in PyTorch modules, run eagerly under ``inference_mode``.

    PyTorch's thread count is process-wide, so ``activate`` sets it before each run of calls.
    """

    def __init__(self, model_dir: Path, threads: int):
        from vaeport.training import use_short_openmp_spin

        use_short_openmp_spin()  # as in training, before torch loads
        try:
            import torch

            from vaeport.training.onnx_weights import load_torch_modules
        except ImportError as error:
            raise EngineUnavailable(
                f"{error.name} is not installed; install vaeport[train] to measure PyTorch"
            ) from None

        self.torch = torch
        self.threads = threads
        self.encoder, self.decoder = load_torch_modules(model_dir)

    def activate(self) -> None:
        self.torch.set_num_threads(self.threads)

    def encode(self, images):
        with self.torch.inference_mode():
            mu, logvar = self.encoder(self.torch.from_numpy(images))
        return mu.numpy(), logvar.numpy()

    def decode(self, z):
        with self.torch.inference_mode():
            return self.decoder(self.torch.from_numpy(z)).numpy()


def quiet_options() -> onnxruntime.SessionOptions:
    """Session options that log errors only, so that a benchmark's output is its results
    (onnxruntime's other defaults, the highest graph optimisation among them, stay)."""
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return options


class OrtEngine(Engine):
    """Bare ``InferenceSession`` objects over a model folder's graphs, opened as the vaeport runtime opens them
    (``open_model``: checked against the manifest, on the provider asked for or not at all).

    ``session_options`` replaces the benchmark's own (highest graph optimisation, quiet log), for a
    profile; ``threads`` sets the intra-op threads of either.
    """

    def __init__(self, model_dir: Path, threads: int, precision: str, provider: str, session_options=None):
        try:
            opened = open_model(model_dir, precision, DEVICES[provider], threads, session_options or quiet_options())
        except ProviderError as error:
            raise EngineUnavailable(str(error)) from None  # it names what is installed and what to install
        except ModelError as error:
            raise BenchmarkError(f"onnxruntime could not load the {precision} graphs in {model_dir}: {error}") from None
        self.sessions = opened.sessions

    def encode(self, images):
        return self.sessions["encoder"].run(list(ENCODER_OUTPUTS), {ENCODER_INPUT: images})

    def decode(self, z):
        return self.sessions["decoder"].run([DECODER_OUTPUT], {DECODER_INPUT: z})[0]


class OrtIoBindingEngine(OrtEngine):
    """Inputs copied to the provider's device once, outputs left there: the graphs without host transfers.

    Each call returns the last graph's outputs as ``OrtValue`` objects on that device.
    """

    def runner(self, part, inputs):
        device = "cuda" if self.sessions["encoder"].get_providers()[0] == CUDA else "cpu"

        def on_device(array):
            return onnxruntime.OrtValue.ortvalue_from_numpy(array, device, 0)

        def buffer(*shape):
            return onnxruntime.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, device, 0)

        batch = len(inputs)
        latent_dim = self.sessions["decoder"].get_inputs()[0].shape[1]
        steps = []
        if part in ("encoder", "roundtrip"):
            binding = self.sessions["encoder"].io_binding()
            binding.bind_ortvalue_input(ENCODER_INPUT, on_device(inputs))
            mu = buffer(batch, latent_dim)
            binding.bind_ortvalue_output(ENCODER_OUTPUTS[0], mu)
            binding.bind_ortvalue_output(ENCODER_OUTPUTS[1], buffer(batch, latent_dim))
            steps.append((self.sessions["encoder"], binding))
        if part in ("decoder", "roundtrip"):
            binding = self.sessions["decoder"].io_binding()
            binding.bind_ortvalue_input(DECODER_INPUT, mu if part == "roundtrip" else on_device(inputs))
            binding.bind_ortvalue_output(DECODER_OUTPUT, buffer(batch, *IMAGE_SHAPE))
            steps.append((self.sessions["decoder"], binding))

        def run():
            for session, binding in steps:
                session.run_with_iobinding(binding)
            return binding.get_outputs()

        return run


class VaeportEngine(Engine):
    """The public ``VAERuntime`` API, input checks and all, so its overhead over bare sessions shows."""

    def __init__(self, model_dir: Path, threads: int, precision: str):
        from vaeport.runtime import VAERuntime

        self.vae = VAERuntime.load(model_dir, device="cpu", precision=precision, threads=threads)

    def encode(self, images):
        return self.vae.encode(images)

    def decode(self, z):
        return self.vae.decode(z)

    def roundtrip(self, images):
        return self.vae.reconstruct(images)


FACTORIES: dict[str, Callable[[Path, int], Engine]] = {
    "torch-eager": TorchEngine,
    "ort-cpu-fp32": partial(OrtEngine, precision="fp32", provider=CPU),
    "ort-cpu-int8": partial(OrtEngine, precision="int8", provider=CPU),
    "ort-cuda-fp32": partial(OrtEngine, precision="fp32", provider=CUDA),
    "ort-cuda-fp32-iobinding": partial(OrtIoBindingEngine, precision="fp32", provider=CUDA),
    "vaeport-fp32": partial(VaeportEngine, precision="fp32"),
    "vaeport-int8": partial(VaeportEngine, precision="int8"),
}
ENGINES = tuple(FACTORIES)
GPU_ENGINES = ("ort-cuda-fp32", "ort-cuda-fp32-iobinding")
BASELINE = "torch-eager"


def precision_of(name: str) -> str:
    return "int8" if name.endswith("int8") else "fp32"


def create(name: str, model_dir: Path, threads: int, **options) -> Engine:
    """A new engine ``name``; ``options`` go to its class (``session_options`` for the ``ort-*`` engines)."""
    return FACTORIES[name](model_dir, threads, **options)
