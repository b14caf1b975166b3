"""The OpenAI semantics of generation on an engine-neutral ``GenerationEngine``."""
