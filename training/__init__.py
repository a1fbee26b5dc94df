"""Training layer: MNIST data, the VAE, its loss, the training loop and ONNX export (needs torch).

Training runs on two threads by default, the recipe's. PyTorch's OpenMP workers then have to
catch every operation of a step: waiting passively, two threads were slower than one on a 2-core
machine, and libgomp's default spin of about 3 ms keeps cores busy long after the work is done.
A spin of 100,000 iterations, well under a millisecond, spans the gaps within a step. Where other
work keeps a core busy, every step waits for the thread that lost its core: one thread
(``--threads 1``) then stays fast.
"""

import os

OPENMP_SPIN_COUNT = "100000"


def use_short_openmp_spin() -> None:
    """Let PyTorch's OpenMP workers spin ``OPENMP_SPIN_COUNT`` iterations between operations, unless
    ``GOMP_SPINCOUNT`` is set already. libgomp reads it when it loads, so call this before torch is
    first imported: ``vaeport train`` and the benchmark's PyTorch engine do.
    """
    os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN_COUNT)
