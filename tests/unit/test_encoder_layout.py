"""Reading sentence-transformers folders, and which endpoints a model serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.encoders.shared.endpoints import Endpoint, served_tasks, serves_task
from server.encoders.shared.spec import Head, ModelDescription
from server.encoders.workers.st_layout import read_layout


def write(root: Path, modules: list[dict[str, str]], configs: dict[str, dict[str, object]]) -> None:
    (root / "modules.json").write_text(json.dumps(modules))
    for folder, config in configs.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "config.json").write_text(json.dumps(config))


def module(kind: str, path: str) -> dict[str, str]:
    return {"type": f"sentence_transformers.models.{kind}", "path": path}


def test_plain_transformers_folder_has_no_layout(tmp_path: Path) -> None:
    assert read_layout(tmp_path) is None


def test_legacy_pooling_flags_and_normalize(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            module("Transformer", ""),
            module("Pooling", "1_Pooling"),
            module("Normalize", "2_Normalize"),
        ],
        {"1_Pooling": {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}},
    )
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    layout = read_layout(tmp_path)
    assert layout is not None
    assert layout.pooling.modes == ("cls", "mean") and layout.pooling.normalize
    assert layout.max_seq_length == 128


def test_new_pooling_mode_and_dense(tmp_path: Path) -> None:
    write(
        tmp_path,
        [module("Transformer", ""), module("Pooling", "1_Pooling"), module("Dense", "2_Dense")],
        {
            "1_Pooling": {"pooling_mode": "lasttoken"},
            "2_Dense": {
                "in_features": 4,
                "out_features": 2,
                "bias": False,
                "activation_function": "torch.nn.modules.linear.Identity",
            },
        },
    )
    layout = read_layout(tmp_path)
    assert layout is not None
    assert layout.pooling.modes == ("lasttoken",) and not layout.pooling.normalize
    (dense,) = layout.pooling.dense
    assert (dense.in_features, dense.out_features, dense.bias, dense.activation) == (
        4,
        2,
        False,
        "Identity",
    )


def test_unknown_module_is_refused(tmp_path: Path) -> None:
    write(tmp_path, [module("Transformer", ""), module("LSTM", "1_LSTM")], {})
    with pytest.raises(ValueError, match="LSTM"):
        read_layout(tmp_path)


def describe(head: Head, labels: tuple[str, ...] = ()) -> ModelDescription:
    return ModelDescription(head=head, architecture="x", max_length=8, labels=labels)


@pytest.mark.parametrize(
    ("task", "head", "labels", "served"),
    [
        ("embed", Head.EMBED, (), ("embed", "rerank", "score")),
        ("classify", Head.SEQUENCE, ("a", "b"), ("classify",)),
        ("classify", Head.SEQUENCE, ("score",), ("classify", "rerank", "score")),
        ("rerank", Head.SEQUENCE, ("score",), ("rerank", "score")),
        ("rerank", Head.EMBED, (), ("embed", "rerank", "score")),
        ("ner", Head.TOKENS, ("O", "B-X"), ("ner",)),
    ],
)
def test_supported_endpoints(
    task: str, head: Head, labels: tuple[str, ...], served: tuple[str, ...]
) -> None:
    description = describe(head, labels)
    assert served_tasks(task, description) == served
    expected = {e for e in Endpoint if e.task in served}
    assert {e for e in Endpoint if serves_task(task, description, e.task)} == expected
    # Every rerank path and the score path are served together, or not at all.
    rerank_paths = {Endpoint.RERANK, Endpoint.JINA_RERANK, Endpoint.COHERE_RERANK}
    assert rerank_paths <= expected or not rerank_paths & expected
