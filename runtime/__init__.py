"""convrnn's runtime: loads a compiled artifact and runs it. Imports nothing from the compiler."""
from convrnn.runtime.errors import ArtifactError, ConvrnnError, DeviceError, InputError
from convrnn.runtime.model import CompiledModel, TensorSpec, load

__all__ = ["load", "CompiledModel", "TensorSpec", "ConvrnnError", "ArtifactError", "InputError", "DeviceError"]
