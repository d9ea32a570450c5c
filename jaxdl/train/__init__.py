"""The training loop and what surrounds it: state, steps, checkpoints, logs, plots, summary."""
