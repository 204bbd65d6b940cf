"""Ship a fitted verifier: its network as ONNX, its enrolment as JSON.

:func:`export_onnx` writes both; :class:`OnnxVerifier` is the NumPy +
onnxruntime reference scorer of them. Needs the ``onnx`` extra.

Examples
--------
>>> from skeer.export import OnnxVerifier, export_onnx
>>> callable(export_onnx), OnnxVerifier.__name__
(True, 'OnnxVerifier')
"""

from skeer.export._export import export_onnx
from skeer.export._onnx_verifier import OnnxVerifier

__all__ = ["OnnxVerifier", "export_onnx"]
