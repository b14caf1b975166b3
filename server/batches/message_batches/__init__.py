"""Anthropic's Message Batches API (``/v1/messages/batches``) on the durable batch runner."""
