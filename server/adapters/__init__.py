"""LoRA adapters loaded and unloaded at run time, the same set on every replica.

``service`` loads an adapter on its base model's engine, records it in the store and keeps
this replica's served set equal to the stored one; ``router`` is vLLM's
``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter``, and an archive upload, behind
the admin key.
"""
