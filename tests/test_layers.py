"""The package's layers (docs/ARCHITECTURE.md): every import points down the table below or stays in its own
package, and no module imports itself back through others. Read from the source, so nothing is imported."""

import ast
import glob
import os

from tests.conftest import REPO

# Higher imports lower. The root modules (errors, registry, args, config, runtime, parallel, optim, losses,
# metrics, decode, diffusion) are the library's base; `python -m jaxdl.judges` (the judge's export command) is an
# entry point like jaxdl.cli, and `python -m jaxdl` calls jaxdl.cli.
LAYERS = {"jaxdl": 0, "jaxdl.nn": 1, "jaxdl.data": 1, "jaxdl.detection": 1, "jaxdl.analysis": 2, "jaxdl.models": 3, "jaxdl.judges": 4,
          "jaxdl.tasks": 4, "jaxdl.train": 5, "jaxdl.modes": 6, "jaxdl.cli": 7, "jaxdl.__main__": 8,
          "jaxdl.judges.__main__": 7}


def modules() -> dict[str, str]:
  out = {}
  for path in glob.glob(os.path.join(REPO, "jaxdl", "**", "*.py"), recursive=True):
    name = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
    out[name] = path
  return out


def package(name: str) -> str:
  """The LAYERS key a module belongs to: the longest that is it or a package above it."""
  return max((key for key in LAYERS if name == key or name.startswith(key + ".") or key == "jaxdl"), key=len)


def imports(path: str, known: dict[str, str]) -> set[str]:
  """The jaxdl modules a file imports, anywhere in it (`from jaxdl import x` names module jaxdl.x)."""
  found = set()
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "jaxdl":
      for alias in node.names:
        child = f"{node.module}.{alias.name}"
        found.add(child if child in known else node.module)
    elif isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "jaxdl")
  return found


def test_imports_point_down_the_layers():
  known = modules()
  upward = []
  for name, path in known.items():
    for target in imports(path, known):
      if package(target) != package(name) and LAYERS[package(target)] >= LAYERS[package(name)]:
        upward.append(f"{name} -> {target}")
  assert not upward, upward


def test_no_import_cycle():
  known = modules()
  graph = {name: {t for t in imports(path, known) if t in known and not t.startswith(name + ".")}
           for name, path in known.items()}  # a package's __init__ registering its own modules is no cycle
  done, cycles = set(), []

  def visit(name, stack):
    for target in graph[name]:
      if target in stack:
        cycles.append(stack[stack.index(target):] + [target])
      elif target not in done:
        visit(target, stack + [target])
    done.add(name)

  for name in graph:
    if name not in done:
      visit(name, [name])
  assert not cycles, cycles[:3]
  assert len(graph) > 100 and sum(map(len, graph.values())) > 300  # the walk saw the package
