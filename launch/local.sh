#!/usr/bin/env bash
# Train one experiment from experiments/ on this machine.
# Usage: launch/local.sh EXPERIMENT [extra --flags...]   e.g. launch/local.sh digits_mlp --steps=200
# Outputs go to runs/EXPERIMENT unless a --workdir is given among the extra flags.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: launch/local.sh EXPERIMENT [--flags...]}
shift
[ -f "experiments/$name.flags" ] || { echo "no experiments/$name.flags; choose one of: $(ls experiments | sed 's/\.flags$//' | tr '\n' ' ')" >&2; exit 2; }
exec "${JAXDL:-.venv/bin/jaxdl}" --flagfile="experiments/$name.flags" --workdir="runs/$name" "$@"
