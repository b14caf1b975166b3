"""The Hugging Face task API: ``POST /models/{name}`` with the task payloads of the Hugging
Face Inference API (``inputs`` plus ``parameters``), answered in the task specs' shapes.

``protocol`` holds the payloads, ``handlers`` the table of per-task handlers (each maps a
payload onto one of our task services and its answer back), ``router`` the one route.
"""
