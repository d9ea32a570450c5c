"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, captioner, densenet, fractalnet, gpt, inception, lenet, mlp, resnet,  # noqa: F401
                          rnn_lm, seq2seq, speedrun, vgg)
