"""Anthropic's Messages API (``/v1/messages``) as an adapter of the one generation pipeline."""
