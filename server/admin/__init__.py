"""The admin API (``/admin/v1/*``, behind the admin key): API keys and their usage."""
