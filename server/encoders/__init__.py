"""Encoder models (embed, classify, NER, rerank) served by pools of Transformers workers.

The API process imports only the light modules here (no torch, no transformers): the worker
processes load the models and tell the API process what it needs (tokenizer, labels, limits).
"""
