"""An ONNX Runtime session for one worker: its threads, its execution provider, one output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def providers_for(device: str) -> list[str | tuple[str, dict[str, str]]]:
    """CUDA for ``cuda[:N]`` when this onnxruntime build has it (then CPU), else CPU."""
    if device.startswith("cuda") and CUDA in ort.get_available_providers():
        index = device.partition(":")[2] or "0"
        return [(CUDA, {"device_id": index}), CPU]
    return [CPU]


class OnnxSession:
    """Runs the exported graph on padded int64 inputs; returns its one output.

    ``threads`` is one worker's share of the cores, as torch gets: the workers run side by
    side, and their threads do not spin (spinning would take CPU from the API process and
    the other workers). A session for batches that run alone (``spin``) has the model's
    cores instead, and its threads spin while it runs: waking parked threads at each of the
    graph's small operators costs more than the second thread gives (MiniLM, batch 1, on a
    2-core Xeon: 2 threads 5.2 ms parked, 3.6 ms spinning; one thread 6.6 ms). They stop
    spinning when the run ends.
    """

    def __init__(
        self, path: Path, *, threads: int, device: str = "cpu", spin: bool = False
    ) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if spin:
            options.add_session_config_entry("session.force_spinning_stop", "1")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=providers_for(device)
        )
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.providers = tuple(self._session.get_providers())

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        # Single texts come without token types; the models read zeros then, as torch does.
        feed = {name: inputs.get(name) for name in self.input_names}
        for name, value in feed.items():
            if value is None:
                feed[name] = np.zeros_like(inputs["input_ids"])
        return np.asarray(self._session.run(None, feed)[0])
