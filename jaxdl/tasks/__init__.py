"""Task kinds; importing this package registers each by name.

A task owns its losses and metrics and sees the model only through `init`/`apply`:
`init(rng, batch) -> variables`, `loss_fn(params, model_state, batch, rng) -> (loss, (metrics,
model_state))`, `eval_fn(params, model_state, batch) -> per-example metrics`.
"""

from jaxdl.tasks import classify  # noqa: F401
