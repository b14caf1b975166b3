"""The vLLM engine adapter: the only code of the server that imports vllm."""
