"""What the API process and the worker processes both import: plain, picklable data (no torch).

``spec`` describes a model (``ModelDescription``), what a worker needs (``WorkerSpec``) and
one input (``Features``); ``ipc`` the messages over the socket between the two processes;
``backend_choice`` which runtime a model uses; ``endpoints`` which endpoints and tasks a
loaded model serves. Nothing here imports any other module of ``server.encoders``.
"""
