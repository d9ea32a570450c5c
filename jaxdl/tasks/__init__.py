"""Task kinds; importing this package registers each by name. `contract.py` says what a task must have."""

from jaxdl.tasks import (autoencode, classify, contract, diffusion, distill, language_model,  # noqa: F401
                         masked_lm, translate, vae)
