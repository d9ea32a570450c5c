#!/usr/bin/env bash
# Train one experiment on a SLURM cluster: one task per node, all GPUs of each node.
# Usage: sbatch --nodes=2 launch/slurm.sh EXPERIMENT [extra --flags...]
# jaxdl calls jax.distributed.initialize(), which reads SLURM's environment (SLURM_NTASKS > 1).
# On preemption SLURM sends SIGTERM 120 s early: jaxdl checkpoints, exits 143, and the requeued
# job resumes from that checkpoint with the same command.
#SBATCH --job-name=jaxdl
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --signal=TERM@120
#SBATCH --requeue
#SBATCH --output=runs/slurm-%j.out
set -euo pipefail
name=${1:?usage: sbatch launch/slurm.sh EXPERIMENT [--flags...]}
shift
srun "${JAXDL:-.venv/bin/jaxdl}" --flagfile="experiments/$name.flags" --workdir="runs/$name" "$@"
