"""Layers the curriculum needs beyond flax.linen."""
