"""Task kinds; importing this package registers each by name. `contract.py` says what a task must have."""

from jaxdl.tasks import classify, contract, diffusion, distill, language_model, masked_lm, translate  # noqa: F401
