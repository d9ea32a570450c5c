"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, bert, captioner, densenet, fractalnet, gpt, inception, lenet,  # noqa: F401
                          mlp, resnet, rnn_lm, seq2seq, speedrun, swin, transformer, vgg, vit)
