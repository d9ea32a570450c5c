"""PyTorch eager peer of `bench/cnn_throughput.py`: the same ResNet18 (small stem) SGD-Nesterov training step on
batches of 128 x 32x32x3, channels_last (oneDNN's fast layout), and the same per-op table of one ResNet conv.

Its own requirements, never installed by `make run` or `make test`:

  python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install -r bench/peers/requirements.txt
  /tmp/torchvenv/bin/python bench/peers/torch_cnn_throughput.py [--steps=6] [--threads=2]

Prints one JSON line: images/s of the float32 and bfloat16 (autocast) steps, per-op milliseconds.
"""

import argparse
import json
import time

import torch
from torch import nn


class BasicBlock(nn.Module):
  def __init__(self, c_in, c_out, stride):
    super().__init__()
    self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(c_out)
    self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(c_out)
    self.shortcut = nn.Sequential()
    if stride != 1 or c_in != c_out:
      self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

  def forward(self, x):
    y = torch.relu(self.bn1(self.conv1(x)))
    return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18SmallStem(nn.Module):
  """torchvision's ResNet18 with jaxdl's `stem=small`: one 3x3 conv, no max pool (11.2M parameters)."""

  def __init__(self, num_classes=10):
    super().__init__()
    self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
    blocks, c_in = [], 64
    for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
      blocks += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
      c_in = c_out
    self.blocks = nn.Sequential(*blocks)
    self.head = nn.Linear(512, num_classes)

  def forward(self, x):
    return self.head(self.blocks(self.stem(x)).mean((2, 3)))


def best_ms(fn, repeats=5):
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return round(min(times) * 1e3, 1)


def train_images_per_s(steps, batch, dtype):
  torch.manual_seed(0)
  model = ResNet18SmallStem().to(memory_format=torch.channels_last)
  opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
  x = torch.randn(batch, 3, 32, 32).to(memory_format=torch.channels_last)
  y = torch.randint(0, 10, (batch,))

  def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
      loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()

  step()  # warm-up (oneDNN primitive creation)
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return round(batch * steps / (time.perf_counter() - start), 1)


def conv_ops(batch):
  """Forward, input gradient and weight gradient of ResNet18's 3x3 conv 64->64 at 32x32."""
  conv = nn.Conv2d(64, 64, 3, 1, 1, bias=False).to(memory_format=torch.channels_last)
  x = torch.randn(batch, 64, 32, 32).to(memory_format=torch.channels_last).requires_grad_()
  ct = torch.randn(batch, 64, 32, 32).to(memory_format=torch.channels_last)
  out = {"forward_ms": best_ms(lambda: conv(x).detach())}
  out["input_grad_ms"] = best_ms(lambda: torch.autograd.grad(conv(x), x, ct))
  out["weight_grad_ms"] = best_ms(lambda: torch.autograd.grad(conv(x), conv.weight, ct))
  out["forward_and_both_grads_ms"] = best_ms(lambda: torch.autograd.grad(conv(x), (x, conv.weight), ct))
  return out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--steps", type=int, default=6)
  parser.add_argument("--batch_size", type=int, default=128)
  parser.add_argument("--threads", type=int, default=2)
  args = parser.parse_args()
  torch.set_num_threads(args.threads)
  result = {"benchmark": "torch_cnn_throughput", "torch": torch.__version__, "threads": args.threads,
            "batch_size": args.batch_size, "steps": args.steps}
  for dtype in ("float32", "bfloat16"):
    result[dtype] = {"images_per_s": train_images_per_s(args.steps, args.batch_size, dtype)}
  result["conv_3x3_64_at_32x32"] = conv_ops(args.batch_size)
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  main()
