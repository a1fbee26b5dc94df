"""``VAERuntime``: the encoder and decoder graphs of one model, on one device, behind numpy calls.

Single items in give single items out (an image ``[28,28]`` encodes to ``[D]`` vectors);
batches keep their batch shape. ``decode``, ``reconstruct`` and ``sample`` give images;
``sample_latents``, ``sample_posterior`` and ``interpolate`` give latent vectors, which
``decode`` turns into images (a demo puts them on its sliders first). One instance may be shared between threads: it holds no
mutable state after loading, onnxruntime's ``run`` is thread-safe, and every random draw
uses its own generator.
"""

import numpy as np

from vaeport.contract import DECODER_INPUT, DECODER_OUTPUT, ENCODER_INPUT, ENCODER_OUTPUTS, IMAGE_SHAPE
from vaeport.runtime.arrays import count, image_batch, latent_batch, random_generator
from vaeport.runtime.elbo import elbo_terms
from vaeport.runtime.errors import InferenceError, InputError
from vaeport.runtime.info import environment, model_summary
from vaeport.runtime.latent_map import LatentMap
from vaeport.runtime.model_files import read_model
from vaeport.runtime.prior import Prior
from vaeport.runtime.sessions import OpenModel, open_model


class VAERuntime:
    """A loaded vaeport model. Create it with :meth:`VAERuntime.load`."""

    def __init__(self, opened: OpenModel):
        self._model = opened.files
        self._precision = opened.precision
        self._opener = opened.opener
        self._sessions = opened.sessions

    @classmethod
    def load(cls, model_dir=None, device="auto", precision="fp32", threads=None, session_options=None) -> "VAERuntime":
        """Load a model folder (None: the model shipped in ``vaeport.exported``).

        ``device``: ``"auto"`` (CUDA when a CUDA session really works, else the CPU; :meth:`info`
        says why), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. ``precision``: ``"fp32"`` or ``"int8"``.
        ``threads``: onnxruntime intra-op threads (default: onnxruntime's choice, one per
        physical core). ``session_options``: an ``onnxruntime.SessionOptions`` used as given
        (``threads``, if also given, overrides its ``intra_op_num_threads``); by default graph
        optimisation runs at its highest level.

        Each graph's SHA-256 is checked against the manifest before a session is created, and
        the graphs' inputs and outputs against the manifest after.
        """
        return cls(open_model(model_dir, precision, device, threads, session_options))

    # --- what was loaded ---------------------------------------------------------------

    @property
    def latent_dim(self) -> int:
        return self._model.manifest["latent_dim"]

    @property
    def manifest(self) -> dict:
        """The model's manifest.json as a dict (treat it as read-only)."""
        return self._model.manifest

    @property
    def prior(self) -> Prior:
        """The model's prior p(z): the manifest's learned mixture, or N(0, I) when it has none."""
        return self._model.prior

    @property
    def latent_map(self) -> LatentMap | None:
        """The manifest's latent map (a plane of latent space and the test digits' mu); None without one."""
        return self._model.latent_map

    @property
    def graph_files(self) -> dict[str, bytes]:
        """``{file name: bytes}`` of the graphs loaded: the bytes whose SHA-256 was checked."""
        return dict(self._model.graphs.values())

    def read_graphs(self, precision: str) -> dict[str, bytes]:
        """``{file name: bytes}`` of this model's graphs at ``precision``, loaded here or not, their SHA-256
        checked against the manifest: for a page whose browser runs another precision than this runtime."""
        if precision == self._precision:
            return self.graph_files
        return dict(read_model(self._model.location, precision).graphs.values())

    @property
    def precision(self) -> str:
        return self._precision

    @property
    def device(self) -> str:
        """The device the sessions run on: ``"cpu"`` or ``"cuda:N"``."""
        return str(self._opener.device)

    @property
    def providers(self) -> list[str]:
        """The execution providers the sessions really use, in onnxruntime's order of preference."""
        return list(self._sessions["encoder"].get_providers())

    def info(self) -> dict:
        """Where the model came from, the device asked for and the one used (and why), onnxruntime, the manifest."""
        return {
            "model_dir": self._model.location,
            "precision": self._precision,
            "device_requested": str(self._opener.requested),
            "device": self.device,
            "providers": self.providers,
            "fallback_reason": self._opener.note,
            "onnxruntime": environment(),
            "model": model_summary(self._model.manifest, self._model.prior),
        }

    def __repr__(self) -> str:
        return (
            f"VAERuntime(model_dir={self._model.location!r}, precision={self._precision!r}, "
            f"device={self.device!r}, latent_dim={self.latent_dim})"
        )

    # --- inference ---------------------------------------------------------------------

    def _run(self, role: str, outputs: list[str], feeds: dict) -> list[np.ndarray]:
        try:
            return self._sessions[role].run(outputs, feeds)
        except Exception as error:  # onnxruntime raises its own pybind11 types; none may reach the caller
            file_name = self._model.graphs[role][0]
            raise InferenceError(f"onnxruntime failed to run {file_name} on {self.device}: {error}") from None

    def _encode_batch(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, logvar = self._run("encoder", list(ENCODER_OUTPUTS), {ENCODER_INPUT: images})
        return mu, logvar

    def _decode_batch(self, z: np.ndarray) -> np.ndarray:
        (images,) = self._run("decoder", [DECODER_OUTPUT], {DECODER_INPUT: z})
        return images.reshape(-1, *IMAGE_SHAPE[1:])

    def encode(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Images ``[28,28]``, ``[N,28,28]`` or ``[N,1,28,28]`` (uint8 0..255 or float in [0, 1], white
        strokes on black) -> the posterior's ``mu`` and ``logvar``, float32 ``[D]`` or ``[N,D]``."""
        batch, shape = image_batch(images)
        mu, logvar = self._encode_batch(batch)
        return (mu[0], logvar[0]) if len(shape) == 2 else (mu, logvar)

    def decode(self, z) -> np.ndarray:
        """Latent vectors ``[D]`` or ``[N,D]`` -> images, float32 ``[28,28]`` or ``[N,28,28]`` in [0, 1]."""
        batch, single = latent_batch(z, self.latent_dim)
        images = self._decode_batch(batch)
        return images[0] if single else images

    def reconstruct(self, images) -> np.ndarray:
        """Encode, then decode the posterior mean: float32 images in [0, 1], in the shape that came in."""
        batch, shape = image_batch(images)
        mu, _ = self._encode_batch(batch)
        return self._decode_batch(mu).reshape(shape)

    def elbo(self, images, seed=None, z=None) -> dict:
        """Each image's figures in nats, the quality measure the model is trained and measured on:
        ``recon_bce`` (the decoded probabilities' binary cross-entropy against the image), ``kl``
        (log q(z|x) - log p(z), analytic for the standard normal prior), ``neg_elbo`` (their sum) and
        ``log_pz`` (log p(z) under the prior), float64 ``[N]``, or scalars for one image; with the
        ``mu``, ``logvar`` and ``z`` they came from.

        ``z`` (``[D]`` or ``[N,D]``) is where the figures are taken; by default one sample of each
        image's posterior, drawn with ``seed``.
        """
        batch, shape = image_batch(images)
        single = len(shape) == 2
        if z is not None:
            z, _ = latent_batch(z, self.latent_dim)
            if len(z) != len(batch):
                raise InputError(f"z must hold one latent vector per image: {len(batch)}; got {len(z)}")
        figures = elbo_terms(self._encode_batch, self._decode_batch, batch, self.prior, random_generator(seed), z)
        return {key: value[0] for key, value in figures.items()} if single else figures

    def sample_latents(self, n: int, seed=None) -> np.ndarray:
        """``n`` latent vectors ``[n,D]`` from the model's prior (:attr:`prior`); :meth:`sample` decodes the same draws."""
        return self._model.prior.sample(n, random_generator(seed))

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` new digits ``[n,28,28]``: latent vectors from the model's prior, decoded."""
        return self._decode_batch(self.sample_latents(n, seed))

    def sample_posterior(self, mu, logvar, n: int = 1, seed=None) -> np.ndarray:
        """``n`` latent vectors from N(mu, exp(logvar)), shape ``[n, *mu.shape]``: ``[n,D]`` for one
        posterior, ``[n,N,D]`` for a batch. Decode them to see them."""
        mu_batch, single = latent_batch(mu, self.latent_dim, "mu")
        logvar_batch, _ = latent_batch(logvar, self.latent_dim, "logvar")
        if np.shape(mu) != np.shape(logvar):
            raise InputError(
                f"mu and logvar must have the same shape; got {list(np.shape(mu))} and {list(np.shape(logvar))}"
            )
        n = count(n, "n")
        eps = random_generator(seed).standard_normal((n, *mu_batch.shape), dtype=np.float32)
        with np.errstate(over="ignore"):
            z = mu_batch + np.exp(0.5 * logvar_batch) * eps
        if not np.isfinite(z).all():
            raise InputError(
                f"logvar up to {float(logvar_batch.max()):g} makes exp(logvar / 2) overflow float32; "
                "expected the log-variances an encoder produces (well below 100)"
            )
        return z[:, 0] if single else z

    def interpolate(self, z0, z1, steps: int) -> np.ndarray:
        """``steps`` latent vectors evenly spaced on the straight line from ``z0`` to ``z1``, both ends
        included: ``[steps,D]`` for two vectors ``[D]``, ``[steps,N,D]`` for two batches. Decode them
        to see the morph."""
        start, single = latent_batch(z0, self.latent_dim, "z0")
        end, _ = latent_batch(z1, self.latent_dim, "z1")
        if np.shape(z0) != np.shape(z1):
            raise InputError(f"z0 and z1 must have the same shape; got {list(np.shape(z0))} and {list(np.shape(z1))}")
        steps = count(steps, "steps", minimum=2)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None]
        path = (1 - t) * start + t * end
        return path[:, 0] if single else path
