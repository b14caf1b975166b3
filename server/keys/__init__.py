"""API keys of the store: the keys a replica accepts, their limits and their usage."""
