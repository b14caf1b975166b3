"""Encoder models (embed, classify, NER, rerank) served by pools of Transformers workers.

Flow: route -> task service (``embed``, ``classify``, ``ner``, ``rerank``) -> tokenization in
the API process (``tokenization``) -> ``server.batching`` -> worker pool (``pool``,
``process``) -> worker process (``worker``: ``loading``, ``forward``, ``pooling``) and back.
``model.EncoderModel`` ties one configured model together for the registry.

The API process imports only the light modules here (no torch, no transformers): the workers
load the model and send the API process what it needs (tokenizer, labels, limits).
"""
