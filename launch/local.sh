#!/usr/bin/env bash
# Train one experiment from experiments/ on this machine.
usage() {
  cat <<'USAGE'
Usage: launch/local.sh EXPERIMENT [extra jaxdl --flags...]
  e.g. launch/local.sh digits_mlp --steps=200
Runs `jaxdl --flagfile=experiments/EXPERIMENT.flags --workdir=runs/EXPERIMENT` with the extra flags after
them (a --workdir among them wins). $JAXDL names the jaxdl command (default .venv/bin/jaxdl).
USAGE
}
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
name=$1
shift
if [ ! -f "experiments/$name.flags" ]; then
  echo "no experiments/$name.flags; choose one of: $(find experiments -name '*.flags' -exec basename {} .flags \; | sort | tr '\n' ' ')" >&2
  exit 2
fi
exec "${JAXDL:-.venv/bin/jaxdl}" --flagfile="experiments/$name.flags" --workdir="runs/$name" "$@"
