"""Errors raised while importing and compiling a model (see runtime/errors.py for the base)."""
from convrnn.runtime.errors import ConvrnnError


class ModelError(ConvrnnError):
    """The ONNX model is malformed or inconsistent (bad protobuf, missing initializer, bad attribute)."""


class UnsupportedError(ConvrnnError):
    """The model uses operators or features convrnn does not support."""


class TargetError(ConvrnnError):
    """The compilation target is unknown or malformed."""


class TuningError(ConvrnnError):
    """A tuning database is missing or cannot be used."""
