"""The workers of a model as the API process sees them (no torch, no worker code imported).

``worker_pool`` spreads batches over the workers and replaces dead ones; ``worker_process``
spawns one worker, talks to it over its socket (``shared.ipc``) and notices its death.
"""
