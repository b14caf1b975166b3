"""HTTP layer: thin routers, error mapping, SSE framing and middleware."""
