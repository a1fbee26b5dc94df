"""vaeport: a variational autoencoder for handwritten digits, shipped as two ONNX graphs.

The layers live in their own sub-packages and are imported lazily by the command line:
``vaeport.training`` (torch), ``vaeport.runtime`` (numpy + onnxruntime), ``vaeport.ui``
(gradio) and ``vaeport.benchmarks``. ``vaeport.exported`` holds the shipped model.
"""

__version__ = "0.1.0"
