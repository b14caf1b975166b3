"""Inference runtimes of the encoder workers: PyTorch (Transformers) and ONNX Runtime.

``choice`` resolves the configured ``backend`` (no heavy imports, used by the API process);
the other modules run in the worker: ``onnx_cache`` finds or writes an exported model beside
the model folder, ``onnx_export`` exports and quantizes it from Transformers, ``onnx_session``
runs it, and ``runners`` gives both runtimes one call shape for the forward stage.
"""
