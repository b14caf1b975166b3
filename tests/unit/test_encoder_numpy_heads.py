"""Pooling and heads in numpy (ONNX workers) give torch's results (torch workers), and a
verified export's record gives back the description it was written from."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from server.encoders.shared.spec import (
    Activation,
    DenseSpec,
    Head,
    ModelDescription,
    PoolingSpec,
    WorkerSpec,
)
from server.encoders.workers.numpy_heads import NumpyReducer, pool
from server.encoders.workers.sentence_pooling import pool as torch_pool
from server.encoders.workers.torch_heads import TorchReducer

MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


def _batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=(4, 9, 6)).astype(np.float32)
    lengths = np.array([9, 3, 6, 1])
    mask = (np.arange(9)[None, :] < lengths[:, None]).astype(np.int64)
    return hidden, mask


@pytest.mark.parametrize("mode", MODES)
def test_each_pooling_mode_matches_torch(mode: str) -> None:
    hidden, mask = _batch()
    expected = torch_pool(torch.from_numpy(hidden), torch.from_numpy(mask), (mode,)).numpy()
    np.testing.assert_allclose(pool(hidden, mask, (mode,)), expected, rtol=1e-6, atol=1e-6)


def _dense_folder(tmp_path: Path, activation: str) -> DenseSpec:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(2)
    folder = tmp_path / "2_Dense"
    folder.mkdir()
    weights = {
        "linear.weight": rng.normal(size=(5, 12)).astype(np.float32),
        "linear.bias": rng.normal(size=5).astype(np.float32),
    }
    save_file(weights, str(folder / "model.safetensors"))
    return DenseSpec(
        path=str(folder), in_features=12, out_features=5, bias=True, activation=activation
    )


@pytest.mark.parametrize("activation", ["Identity", "Tanh", "ReLU", "GELU", "Sigmoid"])
def test_sentence_vectors_with_dense_and_normalisation_match_torch(
    tmp_path: Path, activation: str
) -> None:
    hidden, mask = _batch()
    spec = PoolingSpec(
        modes=("mean", "max"), dense=(_dense_folder(tmp_path, activation),), normalize=True
    )
    expected = TorchReducer(Head.EMBED, Activation.NONE, spec, dtype=torch.float32, device="cpu")(
        torch.from_numpy(hidden), mask
    )
    got = NumpyReducer(Head.EMBED, Activation.NONE, spec)(hidden, mask)
    assert got.dtype == np.float32 and got.shape == (4, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("head", "activation"),
    [
        (Head.SEQUENCE, Activation.SOFTMAX),
        (Head.SEQUENCE, Activation.SIGMOID),
        (Head.SEQUENCE, Activation.NONE),
        (Head.TOKENS, Activation.SOFTMAX),
        (Head.MASKED, Activation.NONE),
        (Head.SPAN, Activation.NONE),
    ],
)
def test_heads_match_torch(head: Head, activation: Activation) -> None:
    hidden, mask = _batch()
    logits = hidden[:, 0] if head is Head.SEQUENCE else hidden * 5
    expected = TorchReducer(head, activation, None, dtype=torch.float32, device="cpu")(
        torch.from_numpy(logits), mask
    )
    got = NumpyReducer(head, activation, None)(logits, mask)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_a_record_gives_back_its_description(tmp_path: Path) -> None:
    from server.encoders.workers.backends import verified

    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"]}')
    spec = WorkerSpec(
        model="m",
        task="embed",
        path=str(tmp_path),
        device="cpu",
        dtype="float32",
        threads=1,
        backend="onnx",
    )
    dense = DenseSpec(
        path="/x/2_Dense", in_features=4, out_features=2, bias=False, activation="Tanh"
    )
    description = ModelDescription(
        head=Head.EMBED,
        architecture="BertModel",
        max_length=128,
        backend="onnx",
        labels=("a", "b"),
        activation=Activation.SOFTMAX,
        output_dim=2,
        tokenizer_json='{"model": {}}',
        pad_id=3,
        vocab_size=100,
        unk_id=1,
        uses_token_type_ids=True,
        continuing_subword_prefix="##",
        pooling=PoolingSpec(modes=("cls", "mean"), dense=(dense,), normalize=False),
        prompts={"query": "query: "},
        default_prompt_name="query",
    )
    record = verified.record_file(spec, Head.EMBED)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"description": verified._description_data(description)}))
    verified.mapped_file(spec, Head.EMBED).write_bytes(b"graph")
    assert verified.load(spec) == description
    # Another maximum length, or a changed tokenizer file, is another record.
    assert verified.load(dataclasses.replace(spec, max_length=64)) is None
    (tmp_path / "tokenizer.json").write_text("{}")
    assert verified.load(spec) is None
