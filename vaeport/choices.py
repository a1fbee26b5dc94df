"""What a training run chooses between, by name: ``vaeport train`` offers these choices (the command
imports no layer until a subcommand runs, so its ``--help`` loads no torch), and ``TrainConfig``
checks them and the model builds them in ``vaeport.training``.
"""

# Hidden-layer activations: the name a run records -> the torch.nn module that computes it.
ACTIVATIONS = {"relu": "ReLU", "silu": "SiLU", "elu": "ELU", "gelu": "GELU"}
# Priors p(z): the standard normal N(0, I), a mixture of learned Gaussians, a VampPrior over learned pseudo-inputs.
PRIORS = ("standard", "mog", "vamp")
# Network shapes: dense layers only (mlp), or stride-2 convolutions before the dense layers of the
# encoder and transposed convolutions after those of the decoder (conv).
ARCHITECTURES = ("mlp", "conv")
