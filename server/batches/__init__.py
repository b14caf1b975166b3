"""The Batch API: ``/v1/files`` and ``/v1/batches``, and the background runner that runs a
batch's lines through this server's own endpoints."""
