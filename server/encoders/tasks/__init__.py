"""The task services: one request in, one ``Reply`` out, over an ``EncoderModel``.

``embed`` (OpenAI and Cohere embeddings, ``embedding_types`` packs Cohere's int8/binary
types), ``classify``, ``ner`` (``entities`` groups token scores into spans) and ``rerank``
(rerank and score); ``inputs`` and ``reply`` are what they share.
"""
