"""Plain NumPy versions of the notes' formulas; the library's JAX code is tested against them."""
