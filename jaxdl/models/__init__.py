"""Model families; importing this package registers every model by name."""

from jaxdl.models import lenet, mlp  # noqa: F401
