"""Encoder models (embed, classify, NER, rerank, score) served by pools of Transformers workers.

Flow: ``router`` (one table of endpoints) -> ``tasks/`` (the task services) -> tokenization in
the API process (``tokenization``) -> ``batching/`` (the dynamic batcher) -> ``workers/pool``
and ``workers/process`` -> the worker process (``workers/worker``: ``loading``, ``forward``,
``pooling``) and back. ``model.EncoderModel`` ties one configured model together for the
registry.

The API process imports only the light modules here (no torch, no transformers): the workers
load the model and send the API process what it needs (tokenizer, labels, limits).
"""
