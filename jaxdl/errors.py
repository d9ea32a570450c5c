"""Errors a person can act on: the CLI prints their one-line message and exits with status 2."""


class UsageError(Exception):
  """Bad input (flag, file, shape): the message names it and what was expected."""


class InputShapeError(UsageError, ValueError):
  """A model was given an input it cannot take (e.g. LeNet-5 needs 32x32 images)."""
