"""ONNX -> convrnn IR."""
from convrnn.frontend.importer import import_onnx, load_model

__all__ = ["import_onnx", "load_model"]
