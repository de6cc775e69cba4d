"""Errors a user can cause. The CLI prints their message on one line and exits 2."""


class ConvrnnError(Exception):
    """Base of every error that is the user's input's fault, not a bug in convrnn."""


class ArtifactError(ConvrnnError):
    """A compiled artifact is missing, truncated, corrupt, of another format version or target."""


class InputError(ConvrnnError):
    """Inputs handed to a compiled model do not match what it was compiled for."""


class DeviceError(ConvrnnError):
    """The device an artifact needs is not present."""
