"""Training layer: MNIST data, the VAE, its loss, the training loop and ONNX export (needs torch).

On machines with few cores, OpenMP threads that busy-wait for work slow training many
times over as soon as anything else runs; a passive wait policy gives the same numbers
much faster. It only takes effect if set before torch is first imported.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
