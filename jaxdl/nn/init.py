"""Weight initializers by name: the notes' Xavier/Glorot and Kaiming/He, uniform and normal.

Each keeps the variance the paper asks for: Xavier 2 / (fan_in + fan_out) (Glorot & Bengio,
2010), Kaiming 2 / fan_in (He et al., 2015). "normal" is a true Gaussian N(0, sigma^2) as in the
notes, not the truncated normal that `jax.nn.initializers.glorot_normal` uses.
"""

from jax.nn import initializers as jinit

from jaxdl.registry import initializers

initializers.register("xavier_uniform", jinit.variance_scaling(1.0, "fan_avg", "uniform"))
initializers.register("xavier_normal", jinit.variance_scaling(1.0, "fan_avg", "normal"))
initializers.register("he_uniform", jinit.variance_scaling(2.0, "fan_in", "uniform"))
initializers.register("he_normal", jinit.variance_scaling(2.0, "fan_in", "normal"))
initializers.register("lecun_normal", jinit.lecun_normal())  # flax's default
