"""Every Prometheus metric of the server, in one registry built per app.

Both engines use the same label names: ``model``, ``task`` and, for request-level metrics,
``endpoint``. Buckets are chosen for what they measure (sub-millisecond queue waits up to
minutes-long generations), not left at the library defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "inference"

REQUEST_LABELS = ("model", "task", "endpoint")
MODEL_LABELS = ("model", "task")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 4, 8, 16, 32, 64)
ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
QUEUE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BATCH_TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
RATIO_BUCKETS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class _GaugeCallbacks(Collector):
    """Gauges read at scrape time from live objects (engines, queues)."""

    def __init__(self) -> None:
        self._families: dict[
            str, tuple[str, list[tuple[tuple[str, str], Callable[[], float]]]]
        ] = {}

    def add(self, name: str, doc: str, labels: tuple[str, str], read: Callable[[], float]) -> None:
        self._families.setdefault(name, (doc, []))[1].append((labels, read))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, series) in self._families.items():
            family = GaugeMetricFamily(name, doc, labels=list(MODEL_LABELS))
            for labels, read in series:
                family.add_metric(list(labels), float(read()))
            yield family

    def describe(self) -> list[GaugeMetricFamily]:
        return []


class Metrics:
    """The server's metric objects; one instance per app, each with its own registry."""

    def __init__(self) -> None:
        # The *_created series double every scrape for no use to dashboards.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = PREFIX
        # Runtime adapters this replica could not load (1 while failing), by adapter name.
        self.adapter_load_failed = Gauge(
            f"{p}_adapter_load_failed",
            "1 while a stored adapter cannot be loaded on this replica.",
            ("model",),
            registry=r,
        )
        # Every endpoint, both engines.
        self.requests = Counter(
            f"{p}_requests",
            "Requests by model, task, endpoint and HTTP status.",
            (*REQUEST_LABELS, "status"),
            registry=r,
        )
        self.request_latency = Histogram(
            f"{p}_request_duration_seconds",
            "Time from request received to response complete.",
            REQUEST_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            f"{p}_prompt_tokens", "Prompt (input) tokens processed.", REQUEST_LABELS, registry=r
        )
        # Generation.
        self.generation_tokens = Counter(
            f"{p}_generation_tokens", "Tokens generated.", REQUEST_LABELS, registry=r
        )
        self.time_to_first_token = Histogram(
            f"{p}_time_to_first_token_seconds",
            "Time from request received to first token.",
            REQUEST_LABELS,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.inter_token_latency = Histogram(
            f"{p}_inter_token_latency_seconds",
            "Time between consecutive output tokens.",
            REQUEST_LABELS,
            buckets=ITL_BUCKETS,
            registry=r,
        )
        # Encoders.
        self.batch_size = Histogram(
            f"{p}_batch_size",
            "Inputs per model batch.",
            MODEL_LABELS,
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_tokens = Histogram(
            f"{p}_batch_tokens",
            "Padded tokens per model batch (estimated for texts the workers tokenize).",
            MODEL_LABELS,
            buckets=BATCH_TOKEN_BUCKETS,
            registry=r,
        )
        self.batch_padding_ratio = Histogram(
            f"{p}_batch_padding_ratio",
            "Share of padded tokens in a model batch (estimated as above).",
            MODEL_LABELS,
            buckets=RATIO_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            f"{p}_queue_wait_seconds",
            "Time an input waited in the batcher queue.",
            MODEL_LABELS,
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.inference_time = Histogram(
            f"{p}_batch_inference_seconds",
            "Worker time to run one model batch.",
            MODEL_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.worker_restarts = Counter(
            f"{p}_worker_restarts",
            "Encoder worker processes restarted after a crash.",
            MODEL_LABELS,
            registry=r,
        )
        self.rejected = Counter(
            f"{p}_rejected_requests",
            "Requests refused before work started, by reason.",
            (*MODEL_LABELS, "reason"),
            registry=r,
        )
        # API keys (by name, never by secret): answered requests and their tokens.
        self.key_requests = Counter(
            f"{p}_key_requests",
            "Answered requests (status below 400) by API key name and model.",
            ("key", "model"),
            registry=r,
        )
        self.key_tokens = Counter(
            f"{p}_key_tokens",
            "Tokens of answered requests by API key name, model and kind (input, output).",
            ("key", "model", "kind"),
            registry=r,
        )
        # Batches (their lines run through the endpoints above, counted there too).
        self.batch_lines = Counter(
            f"{p}_batch_lines",
            "Batch lines finished by this server, by endpoint and outcome (done, failed).",
            ("endpoint", "status"),
            registry=r,
        )
        self.batch_lines_queued = Gauge(
            f"{p}_batch_lines_queued",
            "Lines of running batches not yet finished nor running (all replicas).",
            registry=r,
        )
        self.batches = Gauge(
            f"{p}_batches", "Batches by status (all replicas).", ("status",), registry=r
        )
        # Scrape-time gauges: running/waiting per model (both engines), queue depth.
        self._gauges = _GaugeCallbacks()
        r.register(self._gauges)
        # The request series by label values: ``labels()`` costs more than the update itself.
        self._series: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def count_request(
        self,
        labels: tuple[str, str, str],
        status: int,
        latency: float,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None:
        """One request answered by a served model (``REQUEST_LABELS`` values): its count by
        status, its latency and its tokens."""
        self._child(self.requests, (*labels, str(status))).inc()
        self._child(self.request_latency, labels).observe(latency)
        if prompt_tokens:
            self._child(self.prompt_tokens, labels).inc(prompt_tokens)
        if completion_tokens:
            self._child(self.generation_tokens, labels).inc(completion_tokens)

    def _child(self, metric: Any, values: tuple[str, ...]) -> Any:
        key = (metric, values)
        child = self._series.get(key)
        if child is None:
            child = self._series[key] = metric.labels(*values)
        return child

    def track_running(self, model: str, task: str, read: Callable[[], float]) -> None:
        """Expose ``{prefix}_running_requests`` for a model, read at scrape time."""
        self._gauges.add(
            f"{PREFIX}_running_requests", "Requests being run by the engine.", (model, task), read
        )

    def track_waiting(self, model: str, task: str, read: Callable[[], float]) -> None:
        """Expose ``{prefix}_waiting_requests`` (queued, not yet running) for a model."""
        self._gauges.add(
            f"{PREFIX}_waiting_requests", "Requests queued, not yet running.", (model, task), read
        )

    def track_queue_depth(self, model: str, task: str, read: Callable[[], float]) -> None:
        """Expose ``{prefix}_queue_depth`` (inputs in the batcher queue) for an encoder model."""
        self._gauges.add(
            f"{PREFIX}_queue_depth", "Inputs waiting in the batcher queue.", (model, task), read
        )
