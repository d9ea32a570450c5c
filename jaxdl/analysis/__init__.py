"""Model analysis: per-layer summaries (and, later, saliency, Hessians, LR finder)."""
