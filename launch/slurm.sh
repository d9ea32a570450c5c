#!/usr/bin/env bash
# Train one experiment on a SLURM cluster. Run on a login node, it submits itself with sbatch; inside the job it
# starts the jaxdl processes with srun, and jaxdl calls jax.distributed.initialize(), which reads SLURM's
# environment (SLURM_NTASKS, SLURM_PROCID, the node list) for the coordinator, process count and rank.
usage() {
  cat <<'USAGE'
Usage: launch/slurm.sh [options] EXPERIMENT [extra jaxdl --flags...]
Options:
  --nodes=N            nodes (default 1)
  --gpus_per_node=G    GPUs per node (default 8)
  --per=node|gpu       one jaxdl process per node seeing all its GPUs (default), or one per GPU
  --time=HH:MM:SS      time limit (default 24:00:00)
  --partition=NAME     partition (default: the cluster's)
  --dry-run            print the sbatch and srun command lines, submit nothing
  -h, --help           this text
On preemption SLURM sends SIGTERM 120 s early: jaxdl checkpoints, exits 143, and the requeued job resumes from
that checkpoint with the same command. Outputs: runs/EXPERIMENT (a --workdir among the extra flags wins) and
runs/slurm-JOBID.out. $JAXDL names the jaxdl command (default .venv/bin/jaxdl).
USAGE
}
set -euo pipefail
# Inside the job SLURM runs a copy of this script from its spool directory: the submission names the checkout.
cd "${JAXDL_ROOT:-$(dirname "$0")/..}"
nodes=1 gpus=8 per=node time_limit=24:00:00 partition="" dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --nodes=*) nodes=${1#*=} ;;
    --gpus_per_node=*) gpus=${1#*=} ;;
    --per=*) per=${1#*=} ;;
    --time=*) time_limit=${1#*=} ;;
    --partition=*) partition=${1#*=} ;;
    --dry-run) dry_run=1 ;;
    --*) echo "launch/slurm.sh: unknown option $1 (options come before the experiment; see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
name=$1
shift
[ -f "experiments/$name.flags" ] || { echo "launch/slurm.sh: no experiments/$name.flags" >&2; exit 2; }
case "$per" in
  node) tasks_per_node=1 gpus_per_task=$gpus ;;
  gpu) tasks_per_node=$gpus gpus_per_task=1 ;;
  *) echo "launch/slurm.sh: --per=$per: choose node or gpu" >&2; exit 2 ;;
esac
srun_cmd=(srun --nodes="$nodes" --ntasks-per-node="$tasks_per_node" --gpus-per-task="$gpus_per_task"
  --kill-on-bad-exit=1 "${JAXDL:-.venv/bin/jaxdl}" --flagfile="experiments/$name.flags" --workdir="runs/$name" "$@")
if [ -n "${SLURM_JOB_ID:-}" ] && [ "$dry_run" = 0 ]; then  # inside the allocation: start the processes
  exec "${srun_cmd[@]}"
fi
sbatch_cmd=(sbatch --job-name="jaxdl-$name" --nodes="$nodes" --ntasks-per-node="$tasks_per_node"
  --gpus-per-node="$gpus" --time="$time_limit" --signal=TERM@120 --requeue --output=runs/slurm-%j.out
  "--export=ALL,JAXDL_ROOT=$PWD")
[ -z "$partition" ] || sbatch_cmd+=(--partition="$partition")
sbatch_cmd+=("$PWD/launch/slurm.sh" --nodes="$nodes" --gpus_per_node="$gpus" --per="$per" "$name" "$@")
if [ "$dry_run" = 1 ]; then
  printf 'sbatch:'; printf ' %q' "${sbatch_cmd[@]}"; echo
  printf 'srun:'; printf ' %q' "${srun_cmd[@]}"; echo
  exit 0
fi
mkdir -p runs
exec "${sbatch_cmd[@]}"
