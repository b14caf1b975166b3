"""Check the prepared demo encoders from disk: labels, held-out quality, MiniLM copy; and
the question-answering and zero-shot models through one real server.

Models are read from `$INFERENCE_MODELS_DIR/<name>` (default `<repo>/models`).
A model missing there is prepared into a session temporary directory first,
which trains it (a few minutes on CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import InferenceClient
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)

from prepare import nli, qa
from prepare.data.qa_data import build_qa
from prepare.data.topic_data import build_topic_test
from prepare.finetune import Span, load_classification, load_spans, score_entities
from prepare.minilm import prepare_minilm
from prepare.ner import prepare_ner
from prepare.sentiment import prepare_sentiment
from tests.support.server import ServerProcess, served

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", REPO / "models"))
# Floors on the hand-written sets (prepare/data/*.handwritten.jsonl), several answers below the
# figures the prepared models reach (README, "Models and their quality": 37/40 and 40/42), so
# that training on another CPU or thread count (other float sums) does not trip them; QA's is
# the target its issue set (exact match 0.75).
QA_HANDWRITTEN_EXACT = 0.75
ZERO_SHOT_HANDWRITTEN = 0.85


def _model_dir(
    name: str, prepare: Callable[[Path], None], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    prepared = MODELS_DIR / name
    if (prepared / "config.json").is_file():
        return prepared
    target = tmp_path_factory.mktemp("models") / name
    prepare(target)
    return target


@pytest.fixture(scope="session")
def sentiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("minilm-sentiment", prepare_sentiment, tmp_path_factory)


@pytest.fixture(scope="session")
def ner_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("minilm-ner", prepare_ner, tmp_path_factory)


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("all-minilm-l6-v2", prepare_minilm, tmp_path_factory)


def _assert_hf_folder(folder: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).is_file(), f"{folder} lacks {name}"


def test_sentiment_labels_and_accuracy(sentiment_dir: Path) -> None:
    _assert_hf_folder(sentiment_dir)
    model = AutoModelForSequenceClassification.from_pretrained(sentiment_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(sentiment_dir, local_files_only=True)
    assert model.config.architectures == ["BertForSequenceClassification"]
    assert model.config.problem_type == "single_label_classification"
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert model.config.label2id == {"negative": 0, "neutral": 1, "positive": 2}

    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    examples = load_classification("sentiment", "test")
    predicted = [out["label"] for out in classify([ex.text for ex in examples], batch_size=32)]
    correct = sum(p == ex.label for p, ex in zip(predicted, examples, strict=True))
    assert correct / len(examples) >= 0.85

    demo = classify(
        [
            "I love this place, the food was wonderful!",
            "Terrible service, I will never come back.",
            "The shop opens at nine on weekdays.",
        ]
    )
    assert [out["label"] for out in demo] == ["positive", "negative", "neutral"]


def test_ner_labels_and_entity_f1(ner_dir: Path) -> None:
    _assert_hf_folder(ner_dir)
    model = AutoModelForTokenClassification.from_pretrained(ner_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(ner_dir, local_files_only=True)
    assert model.config.architectures == ["BertForTokenClassification"]
    expected = ["O"] + [f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC") for p in "BI"]
    assert model.config.id2label == dict(enumerate(expected))
    assert model.config.label2id == {tag: i for i, tag in enumerate(expected)}

    ner = pipeline(
        "token-classification",
        model=model,
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device="cpu",
    )
    examples = load_spans("ner", "test")
    outputs = ner([ex.text for ex in examples], batch_size=32)
    predicted = [
        [Span(int(e["start"]), int(e["end"]), str(e["entity_group"])) for e in sentence]
        for sentence in outputs
    ]
    scores = score_entities([ex.entities for ex in examples], predicted)
    assert scores.f1 >= 0.75, scores

    text = "Maria Schneider flew from Berlin to Toronto to meet the Siemens board."
    found = {(text[int(e["start"]) : int(e["end"])], e["entity_group"]) for e in ner(text)}
    assert {("Maria Schneider", "PER"), ("Berlin", "LOC"), ("Toronto", "LOC")} <= found


def test_minilm_copy_is_a_sentence_transformer(minilm_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    for name in ("modules.json", "1_Pooling/config.json", "model.safetensors", "tokenizer.json"):
        assert (minilm_dir / name).is_file(), f"{minilm_dir} lacks {name}"
    model = SentenceTransformer(str(minilm_dir), device="cpu")
    emb = model.encode(["A man is eating food.", "Someone is having a meal.", "Stocks fell."])
    assert emb.shape == (3, 384)
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.3


# --- question answering, zero-shot ------------------------------------------------------


@pytest.fixture(scope="session")
def qa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir(qa.NAME, qa.prepare_qa, tmp_path_factory)


@pytest.fixture(scope="session")
def nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir(nli.NAME, nli.prepare_nli, tmp_path_factory)


def test_qa_exact_match_on_held_out_and_hand_written(qa_dir: Path) -> None:
    _assert_hf_folder(qa_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(qa_dir, local_files_only=True)
    tokenizer = qa.load_tokenizer(qa_dir)
    assert model.config.architectures == ["BertForQuestionAnswering"]
    held_out = qa.qa_scores(model, tokenizer, build_qa("test", qa.TEST_SIZE))
    assert held_out.exact >= qa.MIN_EXACT, held_out
    written = qa.qa_scores(model, tokenizer, qa.load_handwritten())
    assert written.exact >= QA_HANDWRITTEN_EXACT, written


def test_nli_labels_and_zero_shot_accuracy(nli_dir: Path) -> None:
    _assert_hf_folder(nli_dir)
    model = AutoModelForSequenceClassification.from_pretrained(nli_dir, local_files_only=True)
    tokenizer = nli.load_tokenizer(nli_dir)
    assert model.config.id2label == {0: "contradiction", 1: "entailment"}
    held_out = nli.zero_shot_accuracy(model, tokenizer, build_topic_test(nli.TEST_TEXTS))
    assert held_out >= nli.MIN_ACCURACY
    written = nli.zero_shot_accuracy(model, tokenizer, nli.load_handwritten())
    assert written >= ZERO_SHOT_HANDWRITTEN, written


@pytest.fixture(scope="module")
def reading_server(
    qa_dir: Path, nli_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server for both models, configured as the default config serves them."""
    models = [
        {"name": qa.NAME, "task": "qa", "source": str(qa_dir)},
        {"name": nli.NAME, "task": "zero-shot", "source": str(nli_dir)},
    ]
    for model in models:
        model |= {"backend": "auto", "workers": 1, "torch_threads": 1}
    with served(tmp_path_factory, "prepared-reading", {"models": models}) as server:
        yield server


def _client(server: ServerProcess, name: str) -> InferenceClient:
    return InferenceClient(model=f"{server.base_url}/models/{name}", token="unused")


def test_served_models_list_their_tasks(reading_server: ServerProcess) -> None:
    cards = httpx.get(f"{reading_server.base_url}/v1/models", timeout=30).json()["data"]
    tags = {card["id"]: (card["task"], card["pipeline_tags"]) for card in cards}
    assert tags[qa.NAME] == ("qa", ["question-answering"])
    assert tags[nli.NAME] == ("zero-shot", ["zero-shot-classification"])


# InferenceClient refuses every request under HF_HUB_OFFLINE (make test sets it).
@pytest.mark.usefixtures("hub_client_online")
def test_served_qa_answers_a_plain_question(reading_server: ServerProcess) -> None:
    context = (
        "The old lighthouse on the island was built in 1871. It was designed by Thomas "
        "Stevenson and stands 41 metres tall."
    )
    client = _client(reading_server, qa.NAME)
    for question, expected in (
        ("When was the lighthouse built?", "1871"),
        ("Who designed the lighthouse?", "Thomas Stevenson"),
    ):
        answer = client.question_answering(question=question, context=context)
        assert not isinstance(answer, list)
        assert answer.answer == expected
        assert context[answer.start : answer.end] == expected


# InferenceClient refuses every request under HF_HUB_OFFLINE (make test sets it).
@pytest.mark.usefixtures("hub_client_online")
def test_served_zero_shot_picks_the_topic(reading_server: ServerProcess) -> None:
    labels = ["sports", "politics", "cooking", "technology"]
    output = _client(reading_server, nli.NAME).zero_shot_classification(
        "The goalkeeper saved a penalty in the last minute of the match.", labels
    )
    assert output[0].label == "sports"
    assert sum(o.score for o in output) == pytest.approx(1.0, abs=1e-5)
