"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, captioner, densenet, fractalnet, inception, lenet, mlp, resnet, rnn_lm,  # noqa: F401
                          seq2seq, speedrun, vgg)
