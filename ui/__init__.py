"""The Gradio demo served by ``vaeport demo``: latent sliders, a drawing pad and example tiles.

``vaeport.ui.app.build_demo(runtime)`` builds the page and ``serve`` runs it; both need the
``ui`` extra (gradio, pillow). This package's ``__init__`` imports nothing.
"""
