"""Ship a fitted verifier: its network as ONNX, its enrolment as JSON.

- ``_export``: :func:`export_onnx`;
- ``_onnx_graph``: building the ONNX graph (the input scaling folded in);
- ``_onnx_verifier``: :class:`OnnxVerifier`, the NumPy + onnxruntime
  reference scorer of an exported model;
- ``_sidecar``: reading and checking the JSON sidecar (NumPy and the standard
  library only, like the scorer: both can be copied into a service).

Needs the ``onnx`` extra (onnx, onnxruntime).

Examples
--------
>>> from skeer.export import OnnxVerifier, export_onnx
>>> callable(export_onnx), OnnxVerifier.__name__
(True, 'OnnxVerifier')
"""

from skeer.export._export import export_onnx
from skeer.export._onnx_verifier import OnnxVerifier

__all__ = ["OnnxVerifier", "export_onnx"]
