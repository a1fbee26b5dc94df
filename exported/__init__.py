"""The shipped model: encoder.onnx, decoder.onnx, their int8 variants and manifest.json (package data)."""
