"""Inference runtimes of the encoder workers: PyTorch (Transformers) and ONNX Runtime.

``build`` picks the runner (ONNX Runtime if configured and it matches torch, else torch);
``onnx_cache`` finds or writes an exported model beside the model folder, ``onnx_export``
exports and quantizes it from Transformers (also at preparation time), ``onnx_session``
runs it, and ``runners`` gives both runtimes one call shape for the forward stage. Which
runtime a model is configured for is resolved in the API process (``shared.backend_choice``).
"""
