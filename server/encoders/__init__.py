"""Encoder models (embed, classify, NER, rerank, score) served by pools of worker processes.

Requests flow down, results flow back up; each line imports only the lines below it:

- ``router``, ``protocol``, ``limits``: the HTTP endpoints, their bodies, per-request limits.
- ``tasks/``: one service per task (embed, classify, NER, rerank/score) over a model.
- ``model``: ``EncoderModel``, one configured model (workers, batcher, tokenizer) in the
  registry; ``instructions`` picks an embedding model's prompt.
- API process, below the model: ``tokenization`` (text to token ids, for what the API process
  must inspect: pairs, masks, client token ids; plain texts of embeddings, classification
  and NER go to the workers untokenized), ``batching/`` (the dynamic batcher) and ``pool/``
  (the worker pool and one process handle per worker).
- ``cpu_budget``: how the models on the CPU share its cores (threads, batches alone).
- ``workers/``: what runs in a worker process: loading, tokenizing the plain texts of a batch
  (``text_inputs``), the forward pass, pooling, and the runtimes (``workers/backends/``:
  PyTorch and ONNX Runtime). No HTTP, no batcher.
- ``shared/``: the vocabulary both sides of the pipe use (model description, worker spec,
  features, IPC messages, the runtime choice, which endpoints a model serves); it imports
  nothing else of this package.

The API process imports no torch and no transformers, and no module of ``workers/``: the
workers load the model and send the API process what it needs (tokenizer, labels, limits).
"""
