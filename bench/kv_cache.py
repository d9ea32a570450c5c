"""Generation with the KV cache against recomputing the whole prefix at every step: tokens/s of each for
`--new_tokens` tokens after a short prompt, both as one jitted loop (`jaxdl.decode.sample`), in one run.

The recomputing loop keeps a fixed-size token buffer (static shapes) and reads the logits at the current
position; the cached loop runs one token through the model per step. Prints one JSON line.

  python bench/kv_cache.py [--new_tokens=256] [--model_args=num_layers=4,num_heads=4,width=128]
"""

import json

import jax
import jax.numpy as jnp
from absl import app, flags

from jaxdl import args, decode, runtime
from jaxdl.models.gpt import GPT
from timing import best_seconds

_NEW = flags.DEFINE_integer("new_tokens", 256, "Tokens to generate.")
_PROMPT = flags.DEFINE_integer("prompt", 16, "Prompt length.")
_MODEL_ARGS = flags.DEFINE_string("model_args", "num_layers=4,num_heads=4,width=128", "GPT fields.")


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  length = _PROMPT.value + _NEW.value
  model = GPT(num_classes=65, context=length, **args.parse(_MODEL_ARGS.value, GPT, "model_args"))
  prompt = jnp.arange(_PROMPT.value)[None] % 65
  params = model.init(jax.random.PRNGKey(0), prompt)
  rng = jax.random.PRNGKey(1)

  @jax.jit
  def cached(params, prompt, rng):
    def step(cache, token):  # one token through the model, attending to the cache
      logits, cache = model.apply(params, token[:, None], cache)
      return logits[:, -1], cache

    logits, cache = model.apply(params, prompt, model.initial_carry(1, length))
    return decode.sample(step, cache, logits[:, -1], rng, _NEW.value)

  @jax.jit
  def recomputed(params, prompt, rng):
    buffer = jnp.zeros((1, length), jnp.int32).at[:, :_PROMPT.value].set(prompt)
    state = (buffer, jnp.full((1,), _PROMPT.value))

    def step(state, token):  # write the token, run the whole buffer again, read the next position's logits
      buffer, n = state
      buffer = buffer.at[0, n[0]].set(token[0])
      logits, _ = model.apply(params, buffer)
      return jax.lax.dynamic_index_in_dim(logits, n[0], axis=1, keepdims=False), (buffer, n + 1)

    first, _ = model.apply(params, buffer)
    return decode.sample(step, state, first[:, _PROMPT.value - 1], rng, _NEW.value)

  same = bool((cached(params, prompt, rng) == recomputed(params, prompt, rng)).all())
  t_cached = best_seconds(cached, params, prompt, rng, repeats=3)
  t_full = best_seconds(recomputed, params, prompt, rng, repeats=3)
  print(json.dumps({
      "benchmark": "kv_cache", "device": jax.devices()[0].device_kind, "model_args": _MODEL_ARGS.value,
      "prompt": _PROMPT.value, "new_tokens": _NEW.value, "same_tokens": same,
      "cached_tokens_per_s": round(_NEW.value / t_cached), "recompute_tokens_per_s": round(_NEW.value / t_full),
      "speedup": round(t_full / t_cached, 2)}), flush=True)


if __name__ == "__main__":
  app.run(main)
