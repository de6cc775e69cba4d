"""The runtime's only contact with TVM: load a compiled library, allocate and view tensors.

Kept apart from the compiler's adapter so that a compiled artifact runs where only TVM's
runtime and numpy are installed.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from convrnn.runtime.element_types import as_storage, storage_dtype
from convrnn.runtime.errors import DeviceError
from convrnn.runtime.threads import set_default_threads

set_default_threads()  # before TVM starts its thread pool (runtime/threads.py)
import tvm  # noqa: E402

Tensor = tvm.runtime.Tensor


def device(kind: str, index: int = 0) -> Any:
    dev = tvm.runtime.device(kind, index)
    if not dev.exist:
        raise DeviceError(f"no {kind} device {index} is present on this machine")
    return dev


def load_library(path: str) -> Any:
    """The library at `path`, loaded from a private copy: the dynamic loader hands back the
    library it already holds under a file name, so an artifact rebuilt where one was loaded
    before in this process would run the old kernels. Where no copy can be made or loaded
    (a temporary folder mounted noexec), the file itself."""
    try:
        with tempfile.TemporaryDirectory(prefix="convrnn-library-", ignore_cleanup_errors=True) as folder:
            copy = Path(folder) / Path(path).name
            shutil.copyfile(path, copy)
            return tvm.runtime.load_module(str(copy))  # mapped: the copy may go when the folder does
    except Exception:
        return tvm.runtime.load_module(path)


def get_function(library: Any, name: str) -> Any:
    return library[name]


# Tensors of bit-pattern types (bfloat16, float8, ...: runtime/element_types.py) are made with
# their storage type, as the kernels declare them; arrays of those types go in as their bits.

def empty(shape: Sequence[int], dtype: str, dev: Any) -> Tensor:
    # TVM allocates with the alignment its kernels assume (numpy memory may not have it).
    return tvm.runtime.empty(tuple(int(d) for d in shape), storage_dtype(dtype), dev)


def view(storage: Tensor, shape: Sequence[int], dtype: str) -> Tensor:
    return storage._create_view(tuple(int(d) for d in shape), storage_dtype(dtype))


def upload(array: np.ndarray, dev: Any) -> Tensor:
    tensor = empty(array.shape, str(array.dtype), dev)
    tensor.copyfrom(np.require(as_storage(array), requirements="C"))  # keeps 0-d arrays 0-d
    return tensor


_CPU = 1  # DLPack's device type of host memory


def host_view(tensor: Tensor) -> "np.ndarray | None":
    """A numpy array sharing the tensor's memory, for host tensors (None elsewhere): copies
    through it need no temporary (~2x faster than copyfrom)."""
    return np.from_dlpack(tensor) if tensor.device.dlpack_device_type() == _CPU else None


def copy_into(tensor: Tensor, array: np.ndarray) -> None:
    """Into device memory (host tensors are written through their `host_view`)."""
    tensor.copyfrom(np.require(as_storage(array), requirements="C"))  # keeps 0-d arrays 0-d


def download(tensor: Tensor) -> np.ndarray:
    """From device memory (host tensors are read through their `host_view`)."""
    return tensor.numpy()
