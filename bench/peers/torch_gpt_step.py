"""PyTorch eager peer of `bench/gpt_step.py`: nanoGPT's character model (4 layers, 4 heads, width 128, context
64, batch 12, vocabulary 65, no dropout, tied head, AdamW) timed per training step on random tokens.

Its own requirements, never installed by `make run` or `make test`:

  python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install -r bench/peers/requirements.txt
  /tmp/torchvenv/bin/python bench/peers/torch_gpt_step.py [--steps=100] [--threads=2]

Prints one JSON line: ms per step (the best of 3 timed loops, after 10 warm-up steps). With --serve it instead
prints {"ready": true} after the warm-up, then, for each number N read from stdin, times N steps and prints
{"ms_per_step": ...}: `bench/gpt_step.py --peer_python=...` alternates its loops with jaxdl's in one run.
"""

import argparse
import json
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
  def __init__(self, width, heads):
    super().__init__()
    self.heads = heads
    self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
    self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
    self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

  def forward(self, x):
    b, t, c = x.shape
    q, k, v = self.qkv(self.ln_1(x)).split(c, dim=2)
    q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, c)
    x = x + self.proj(y)
    return x + self.out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
  def __init__(self, vocab=65, context=64, width=128, layers=4, heads=4):
    super().__init__()
    self.tokens, self.positions = nn.Embedding(vocab, width), nn.Embedding(context, width)
    self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
    self.ln_f = nn.LayerNorm(width)
    self.head = nn.Linear(width, vocab, bias=False)
    self.head.weight = self.tokens.weight

  def forward(self, idx, targets):
    x = self.tokens(idx) + self.positions(torch.arange(idx.shape[1]))
    for block in self.blocks:
      x = block(x)
    logits = self.head(self.ln_f(x))
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--serve", action="store_true", help="time loops of N steps for each N read from stdin")
  args = parser.parse_args()
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  model = GPT()
  opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
  x, y = torch.randint(0, 65, (12, 64)), torch.randint(0, 65, (12, 64))

  def step():
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss

  def seconds_per_step(steps):
    start = time.perf_counter()
    for _ in range(steps):
      step()
    return (time.perf_counter() - start) / steps

  for _ in range(10):
    step()
  if args.serve:
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": args.threads}), flush=True)
    for line in sys.stdin:
      print(json.dumps({"ms_per_step": round(seconds_per_step(int(line)) * 1e3, 3)}), flush=True)
    return
  best = min(seconds_per_step(args.steps) for _ in range(3))
  print(json.dumps({"benchmark": "torch_gpt_step", "torch": torch.__version__, "threads": args.threads,
                    "batch_size": 12, "context": 64, "ms_per_step": round(best * 1e3, 1)}))


if __name__ == "__main__":
  main()
