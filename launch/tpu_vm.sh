#!/usr/bin/env bash
# Train one experiment on every host of a Cloud TPU VM slice (jaxdl must be checked out and
# `make .venv/.installed` run on each host, with jax[tpu] installed in .venv).
# Usage: launch/tpu_vm.sh TPU_NAME ZONE EXPERIMENT [extra --flags...]
# The workdir must be storage every host can reach (e.g. a gs:// bucket or a shared mount).
set -euo pipefail
tpu=${1:?usage: launch/tpu_vm.sh TPU_NAME ZONE EXPERIMENT [--flags...]}
zone=${2:?zone}
name=${3:?experiment}
shift 3
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
  "cd jaxdl && .venv/bin/jaxdl --flagfile=experiments/$name.flags --workdir=\${JAXDL_WORKDIR:-runs/$name} $*"
