"""jaxdl: a JAX/Flax functional research framework covering the deep-learning curriculum."""

__version__ = "0.1.0"
