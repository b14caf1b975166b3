"""Generation with vLLM. Only ``engine.py`` and ``sampling.py`` import vLLM, lazily."""
