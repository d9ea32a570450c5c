#!/usr/bin/env bash
# A Cloud TPU VM slice for jaxdl: create it, run one experiment on every host at once, delete it. Each host runs
# the same jaxdl command; jaxdl calls jax.distributed.initialize(), which finds the slice's hosts itself.
usage() {
  cat <<'USAGE'
Usage: launch/tpu_vm.sh create TPU_NAME ZONE [ACCELERATOR_TYPE [VERSION]]
       launch/tpu_vm.sh run TPU_NAME ZONE EXPERIMENT [extra jaxdl --flags...]
       launch/tpu_vm.sh delete TPU_NAME ZONE
  create   a TPU VM (default v4-8, runtime tpu-ubuntu2204-base), then on every host: clone this repository's
           origin into ~/jaxdl, `make .venv/.installed` and install jax[tpu] into its .venv
  run      `jaxdl --flagfile=experiments/EXPERIMENT.flags` on --worker=all; the workdir must be storage every
           host reaches ($JAXDL_WORKDIR on the hosts, e.g. a gs:// bucket or a shared mount; default runs/NAME)
  delete   the TPU VM
  --dry-run (first argument) prints the gcloud command lines instead of running them.
USAGE
}
set -euo pipefail
dry_run=0
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=1
  shift
fi
gcloud_() {
  if [ "$dry_run" = 1 ]; then
    printf 'gcloud'; printf ' %q' "$@"; echo
  else
    gcloud "$@"
  fi
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  create|run|delete) ;;
  *) usage >&2; exit 2 ;;
esac
action=$1
tpu=${2:?TPU_NAME missing; see --help}
zone=${3:?ZONE missing; see --help}
shift 3
case "$action" in
  create)
    type=${1:-v4-8}
    version=${2:-tpu-ubuntu2204-base}
    origin=$(git -C "$(dirname "$0")/.." remote get-url origin)
    gcloud_ compute tpus tpu-vm create "$tpu" --zone="$zone" --accelerator-type="$type" --version="$version"
    gcloud_ compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
      "git clone $(printf %q "$origin") jaxdl && cd jaxdl && make .venv/.installed && .venv/bin/pip install 'jax[tpu]'"
    ;;
  run)
    name=${1:?EXPERIMENT missing; see --help}
    shift
    gcloud_ compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
      "cd jaxdl && .venv/bin/jaxdl --flagfile=experiments/$name.flags --workdir=\${JAXDL_WORKDIR:-runs/$name} $(printf '%q ' "$@")"
    ;;
  delete)
    gcloud_ compute tpus tpu-vm delete "$tpu" --zone="$zone" --quiet
    ;;
esac
