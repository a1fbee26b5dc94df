"""Inference benchmarks: every engine on the same weights, interleaved in rounds, written as JSON, markdown and plots.

``vaeport bench`` runs :func:`vaeport.benchmarks.run.run_benchmark`. PyTorch is optional: without it the
``torch-eager`` engine is skipped with a note.
"""
