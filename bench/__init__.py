"""Benchmarks: this server against vLLM's own server and in-process Transformers.

``python -m bench --help`` lists the suites; each writes JSON, Markdown and PNG plots to
``bench/results/`` (or ``--out``). Every speed claim is a ratio measured in the same run.
"""
