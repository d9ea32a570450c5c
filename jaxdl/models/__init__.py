"""Model families; importing this package registers every model by name."""

from jaxdl.models import (alexnet, autoencoder, bert, captioner, densenet, dit, flow, fractalnet, gan,  # noqa: F401
                          gpt, inception, lenet, mlp, pixelcnn, resnet, rnn_lm, seq2seq, speedrun, swin,
                          transformer, unet, vgg, vit)
