"""What a training run chooses between, by name, with no torch import: ``vaeport train`` offers
these choices (its ``--help`` must not load torch), ``TrainConfig`` checks them and the model builds them.
"""

# Hidden-layer activations: the name a run records -> the torch.nn module that computes it.
ACTIVATIONS = {"relu": "ReLU", "silu": "SiLU", "elu": "ELU", "gelu": "GELU"}
# Priors p(z): the standard normal N(0, I), a mixture of learned Gaussians, a VampPrior over learned pseudo-inputs.
PRIORS = ("standard", "mog", "vamp")
