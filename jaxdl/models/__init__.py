"""Model families; importing this package registers every model by name."""

from jaxdl.models import alexnet, densenet, fractalnet, inception, lenet, mlp, resnet, speedrun, vgg  # noqa: F401
