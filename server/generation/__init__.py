"""Generation (chat, completions, tokenizer) on vLLM engines.

Flow: ``router`` -> ``limits`` -> ``service.pipeline`` (one pipeline; ``service.chat`` and
``service.completions`` adapt each endpoint) -> ``engine`` (vLLM's ``AsyncLLM``) and back.
``model.GenerationModel`` ties one configured model together for the registry.
"""
