"""What runs in an encoder worker process (torch, transformers, ONNX Runtime; no HTTP).

``main`` is the process: load, then serve batches from the socket. ``loading`` builds the
Transformers model (``auto_classes``: its class per head) and its description
(``st_layout`` reads sentence-transformers folders), ``backends/`` chooses and runs the
runtime, ``forward`` runs a batch (``buckets`` splits it by length) and ``sentence_pooling``
turns token vectors into sentence vectors.
"""
