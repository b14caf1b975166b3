"""``/v1/responses``: OpenAI's Responses API on the generation pipeline, state in the store.

router -> service (store, chain, background runs) -> ``ResponsesAdapter`` (a request adapter
of the generation pipeline, on top of chat's) -> ``events`` (the typed stream events).
``items`` turns input items and stored chains into chat messages and outputs into items.
"""
