"""Errors that the CLI turns into a one-line message and a non-zero exit code."""


class TopictagError(Exception):
    """Base class: a problem with the user's input, labels or model, not a bug."""


class LabelError(TopictagError):
    """The labelled data cannot be used for training as it is."""


class ModelError(TopictagError):
    """The model directory is missing, incomplete, or does not match its checksums."""


class InputError(TopictagError):
    """An article or corpus given to the tagger cannot be read."""
