"""convrnn's compiler: IR, passes, lowering to TVM, build, CLI.

Heavy modules (TVM) load on first use: `from convrnn.compiler import compile_model`.
"""
from typing import Any

__all__ = ["compile_model"]


def __getattr__(name: str) -> Any:
    if name == "compile_model":
        from convrnn.compiler.build import compile_model

        return compile_model
    raise AttributeError(name)
