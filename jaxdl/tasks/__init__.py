"""Task kinds; importing this package registers each by name. `contract.py` says what a task must have."""

from jaxdl.tasks import (autoencode, autoregressive, classify, contract, diffusion, distill, flow, gan,  # noqa: F401
                         language_model, masked_lm, noisy_classify, translate, vae)
