"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, densenet, fractalnet, inception, lenet, mlp, resnet, rnn_lm, seq2seq,  # noqa: F401
                          speedrun, vgg)
