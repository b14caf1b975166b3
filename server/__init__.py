"""An OpenAI-compatible inference server: vLLM generation and batched Transformers encoders."""

__version__ = "0.1.0"
