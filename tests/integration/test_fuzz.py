"""Schema-driven fuzzing of the real server from its own OpenAPI document (schemathesis).

Every operation gets a bounded, derandomized set of generated requests, valid and invalid. A
request naming a model usually names a served one, so bodies reach the engines and not only
the 404 path. The checks: no 5xx, every status and content type documented, every JSON body
matching its documented schema.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.encoders.models import minilm_dir
from tests.support.server import ServerProcess, served

pytestmark = pytest.mark.integration

GENERATE = "smollm2-135m-instruct"
SERVED = [GENERATE, "minilm", "minilm-sentiment", "minilm-ner", "minilm-rerank"]
EXAMPLES_PER_OPERATION = 50


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    minilm = str(minilm_dir())
    config = {
        # Small limits keep generated work small: the fuzzer explores shapes, not sizes.
        "limits": {
            "max_body_bytes": 65536,
            "max_inputs": 8,
            "max_input_chars": 2000,
            "max_n": 2,
            "max_tokens": 8,
            "max_top_logprobs": 5,
        },
        "models": [
            {
                "name": GENERATE,
                "task": "generate",
                "source": f"bundled:{GENERATE}",
                "engine": {"dtype": "float32", "max_model_len": 512, "enforce_eager": True},
            },
            {"name": "minilm", "task": "embed", "source": minilm},
            {"name": "minilm-sentiment", "task": "classify", "source": "bundled:minilm-sentiment"},
            {"name": "minilm-ner", "task": "ner", "source": "bundled:minilm-ner"},
            {"name": "minilm-rerank", "task": "rerank", "source": minilm},
        ],
    }
    with served(tmp_path_factory, "fuzz", config) as proc:
        yield proc


def served_model(generated: str) -> str:
    """A served model for most generated names (chosen by the name), the name itself else."""
    choices = [*SERVED, generated]
    return choices[zlib.crc32(generated.encode()) % len(choices)]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    """Bounded, derandomized examples of one operation; raises on the first failed check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking against a live server
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
            case.body["model"] = served_model(case.body["model"])
        case.call_and_validate(checks=CHECKS, timeout=120)

    run()


def _takes_body(operation: schemathesis.APIOperation) -> bool:
    return "requestBody" in operation.definition.raw


def test_no_server_errors_and_only_documented_responses(fuzz_server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    failures: list[str] = []
    negative: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode)
            except Unsatisfiable:
                # No input to break: an operation without a body (any path string is valid).
                assert mode is GenerationMode.NEGATIVE and not _takes_body(operation)
                continue
            except Exception as exc:  # every operation is fuzzed; all failures are reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
            if mode is GenerationMode.NEGATIVE:
                negative.append(operation.label)
    assert not failures, "\n\n".join(failures)
    # Every operation that takes a body was also sent invalid ones.
    assert {op.label for op in operations if _takes_body(op)} <= set(negative)
    assert fuzz_server.process.poll() is None, "the server died under fuzzing"
