"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, bert, captioner, densenet, dit, fractalnet, gpt, inception,  # noqa: F401
                          lenet, mlp, resnet, rnn_lm, seq2seq, speedrun, swin, transformer, unet, vgg, vit)
