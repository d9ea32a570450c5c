"""Task kinds; importing this package registers each by name.

A task owns its losses and metrics and sees the model only through `init`/`apply`:
`init(rng, batch) -> variables`, `loss_fn(params, model_state, batch, rng) -> (loss, (metrics,
model_state))` with metrics named by `train_metrics`, `eval_fn(params, model_state, batch) ->
per-example metrics`, and `monitor` / `monitor_mode` for the eval metric that picks the best.
"""

from jaxdl.tasks import classify  # noqa: F401
