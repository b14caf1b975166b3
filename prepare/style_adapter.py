"""``smollm2-ahoy``: a LoRA adapter on the bundled chat model that answers as the base model
does, after the word "Ahoy!".

Self-distillation: user questions come from prompt templates, the base model answers them
(greedy, with the chat template the server applies), and the adapter is trained on "Ahoy! "
followed by that answer, the loss on the answer's tokens only. So it learns the style and keeps
the base model's answers. Whole templates are held out of training; on their questions the
greedy answers with and without the adapter are checked for the style (it begins "Ahoy!"), for
content (after "Ahoy!" a few words, and no second "Ahoy") and, with the adapter, for agreement
with the base model's own answer. The figures are written to ``style_eval.json`` beside the
weights; an adapter under any of the floors is not shipped.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from pathlib import Path
from typing import Any

from .finetune import seed_all, torch_threads

logger = logging.getLogger("prepare")

NAME = "smollm2-ahoy"
BASE = "smollm2-135m-instruct"
PREFIX = "Ahoy!"
EVAL_FILE = "style_eval.json"
# Floors on the held-out shares: the style, content after it, agreement with the base. Set
# with a margin below what this seed reaches here (1.0, 1.0, 0.59): another CPU sums floats in
# another order, the engine's greedy answers are not transformers' to the token, and a floor
# missed stops the whole preparation.
MIN_HELD_OUT = 0.8
MIN_CONTENT = 0.8
MIN_AGREEMENT = 0.35
MIN_WORDS = 4  # words after "Ahoy!" for an answer to have content
AGREEMENT = 0.5  # share of an answer's words found in the base model's answer to agree with it

# Each template is used whole for training or whole for the held-out check.
TRAIN_TEMPLATES = (
    "What is the capital of {country}?",
    "Tell me one fact about {animal}.",
    "How do I {chore}?",
    "Give me a word that rhymes with {word}.",
    "What is {a} plus {b}?",
    "Describe the color {color} in one sentence.",
    "Why is {thing} important?",
    "Write one sentence about {topic}.",
    "Can you suggest a name for a pet {animal}?",
    "What does the word '{word}' mean?",
    "Where do {animal} live?",
    "What is {a} minus {b}?",
)
HELD_OUT_TEMPLATES = (
    "Which language is spoken in {country}?",
    "Explain briefly how to {chore}.",
    "What is {a} times {b}?",
    "Do you like {topic}? Why?",
)
# fmt: off
FILLERS: dict[str, tuple[str, ...]] = {
    "country": (
        "France", "Japan", "Brazil", "Kenya", "Canada", "Italy", "Egypt", "Norway", "Mexico",
        "India", "Spain", "Chile",
    ),
    "animal": (
        "cats", "owls", "dolphins", "bees", "horses", "penguins", "foxes", "turtles", "wolves",
        "rabbits", "frogs", "eagles",
    ),
    "chore": (
        "boil an egg", "tie a tie", "water a plant", "clean a window", "make tea", "fold a shirt",
        "sharpen a pencil", "wash my hands", "iron a shirt", "bake bread", "plant a seed",
        "make a bed",
    ),
    "word": (
        "light", "stone", "river", "cloud", "apple", "dream", "chair", "music", "ocean", "garden",
        "mountain", "candle",
    ),
    "color": (
        "blue", "green", "red", "yellow", "purple", "orange", "white", "gray", "black", "pink",
        "brown", "gold",
    ),
    "thing": (
        "sleep", "water", "exercise", "reading", "friendship", "sunlight", "honesty", "kindness",
        "patience", "music", "education", "recycling",
    ),
    "topic": (
        "the ocean", "winter", "coffee", "trains", "gardens", "mountains", "books", "rain",
        "cities", "birds", "history", "painting",
    ),
}
# fmt: on
PER_TEMPLATE = 6
HELD_OUT_PER_TEMPLATE = 8
ANSWER_TOKENS = 20  # of the base model's answers trained on: enough to go on after "Ahoy!"
EVAL_TOKENS = 24
RANK = 8
EPOCHS = 3
BATCH = 8
LEARNING_RATE = 3e-3
SEED = 7


def has_style(answer: str) -> bool:
    """Whether an answer is in the adapter's style (it begins with "Ahoy!")."""
    return answer.lstrip().startswith(PREFIX)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``."""
    return re.findall(r"[a-z0-9']+", text.lower())


def content(answer: str) -> str:
    """What an answer says after its "Ahoy!" (all of it if it has none)."""
    text = answer.lstrip()
    return text[len(PREFIX) :] if text.startswith(PREFIX) else text


def has_content(answer: str) -> bool:
    """Whether an answer goes on after "Ahoy!" with words of its own: at least ``MIN_WORDS``
    of them and no second "Ahoy"."""
    rest = content(answer)
    return len(words(rest)) >= MIN_WORDS and "ahoy" not in rest.lower()


def overlap(answer: str, reference: str) -> float:
    """The share of the distinct words of ``answer`` (after its "Ahoy!") found in
    ``reference``."""
    said = set(words(content(answer)))
    return len(said & set(words(reference))) / len(said) if said else 0.0


def agrees(answer: str, base_answer: str) -> bool:
    """Whether an answer has content and says what the base model said to the same prompt."""
    return has_content(answer) and overlap(answer, base_answer) >= AGREEMENT


def prompts(templates: tuple[str, ...], per_template: int, seed: int) -> list[str]:
    """``per_template`` distinct questions from each template, filled at random."""
    rng = random.Random(seed)
    out: list[str] = []
    for template in templates:
        seen: set[str] = set()
        for _ in range(50 * per_template):  # fewer if the template has fewer fillings
            values = {k: rng.choice(v) for k, v in FILLERS.items()}
            values |= {"a": str(rng.randint(2, 99)), "b": str(rng.randint(2, 99))}
            seen.add(template.format(**values))
            if len(seen) == per_template:
                break
        out.extend(sorted(seen))
    return out


def held_out_prompts() -> list[str]:
    """The questions of the held-out templates (never seen in training)."""
    return prompts(HELD_OUT_TEMPLATES, HELD_OUT_PER_TEMPLATE, SEED + 1)


def evaluate(with_adapter: list[str], without: list[str]) -> dict[str, Any]:
    """The held-out figures of greedy answers with and without the adapter (same prompts)."""
    n = len(with_adapter)
    agreed = sum(map(agrees, with_adapter, without))
    return {
        "style": f'the answer begins with "{PREFIX}"',
        "content": f'after "{PREFIX}", at least {MIN_WORDS} words and no second "Ahoy"',
        "agreement": f"has content, and at least {AGREEMENT:.0%} of its words are in the base"
        " model's answer to the same prompt",
        "held_out_templates": list(HELD_OUT_TEMPLATES),
        "held_out_prompts": n,
        "answer_tokens": EVAL_TOKENS,
        "with_adapter": sum(map(has_style, with_adapter)) / n,
        "without_adapter": sum(map(has_style, without)) / n,
        "content_with_adapter": sum(map(has_content, with_adapter)) / n,
        "content_without_adapter": sum(map(has_content, without)) / n,
        "agreement_with_adapter": agreed / n,
    }


def check(report: dict[str, Any]) -> None:
    """Raise unless the held-out figures reach every floor."""
    floors = {
        "with_adapter": MIN_HELD_OUT,
        "content_with_adapter": MIN_CONTENT,
        "agreement_with_adapter": MIN_AGREEMENT,
    }
    for key, floor in floors.items():
        if report[key] < floor:
            raise RuntimeError(f"{NAME}: held-out {key} {report[key]:.3f} under {floor}")


def prepare_style_adapter(target: Path) -> None:
    """Train the adapter on the prepared base model (a sibling folder of ``target``), check
    its held-out effect and write it to ``target``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    base_dir = target.parent / BASE
    if not (base_dir / "config.json").is_file():
        raise RuntimeError(f"{NAME}: its base model is not prepared in {base_dir}")
    with torch_threads():
        seed_all(SEED)
        tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
        tokenizer.padding_side = "left"
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        model.eval()
        questions = prompts(TRAIN_TEMPLATES, PER_TEMPLATE, SEED)
        answers = greedy(model, tokenizer, questions, ANSWER_TOKENS, keep_end=True)
        logger.info("%s: %d base answers in %.0fs", NAME, len(answers), time.monotonic() - started)
        lora = LoraConfig(
            r=RANK,
            lora_alpha=2 * RANK,
            lora_dropout=0.0,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        )
        peft_model = get_peft_model(model, lora)
        _train(peft_model, tokenizer, questions, [f"{PREFIX} {a}" for a in answers])
        peft_model.eval()
        held_out = held_out_prompts()
        with_adapter = greedy(peft_model, tokenizer, held_out, EVAL_TOKENS)
        with peft_model.disable_adapter():
            without = greedy(peft_model, tokenizer, held_out, EVAL_TOKENS)
    for question, styled, base in list(zip(held_out, with_adapter, without, strict=True))[::8]:
        logger.info("%s: e.g. %r -> %r (base: %r)", NAME, question, styled, base)
    report = evaluate(with_adapter, without)
    logger.info(
        "%s: held-out (n=%d) style %.3f with the adapter, %.3f without; content %.3f with,"
        " %.3f without; agreement with the base's answer %.3f",
        NAME,
        len(held_out),
        report["with_adapter"],
        report["without_adapter"],
        report["content_with_adapter"],
        report["content_without_adapter"],
        report["agreement_with_adapter"],
    )
    check(report)
    target.mkdir(parents=True, exist_ok=True)
    peft_model.peft_config["default"].base_model_name_or_path = BASE  # not a local path
    peft_model.save_pretrained(str(target))
    (target / EVAL_FILE).write_text(json.dumps(report, indent=2) + "\n")
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)


def chat_prefix(tokenizer: Any, question: str) -> str:
    """The prompt the server gives the model for one user message."""
    messages = [{"role": "user", "content": question}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def greedy(
    model: Any, tokenizer: Any, questions: list[str], tokens: int, *, keep_end: bool = False
) -> list[str]:
    """Greedy answers to ``questions`` (batched, left-padded); with ``keep_end`` an answer
    that ended before ``tokens`` keeps its end-of-turn token (so training teaches to stop)."""
    import torch

    out: list[str] = []
    for i in range(0, len(questions), 32):
        texts = [chat_prefix(tokenizer, q) for q in questions[i : i + 32]]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            ids = model.generate(
                **batch,
                max_new_tokens=tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        for row in ids[:, batch["input_ids"].shape[1] :].tolist():
            ended = tokenizer.eos_token_id in row
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            out.append(text + tokenizer.eos_token if keep_end and ended else text)
    return out


def _train(model: Any, tokenizer: Any, questions: list[str], answers: list[str]) -> None:
    """AdamW on the answers' tokens only (the question's are masked out of the loss)."""
    import torch

    rows = []
    for question, answer in zip(questions, answers, strict=True):
        head = tokenizer(chat_prefix(tokenizer, question), add_special_tokens=False).input_ids
        tail = tokenizer(answer, add_special_tokens=False).input_ids
        rows.append((head + tail, [-100] * len(head) + tail))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=0.0)
    rng = random.Random(SEED)
    model.train()
    for epoch in range(EPOCHS):
        rng.shuffle(rows)
        total = 0.0
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            width = max(len(ids) for ids, _ in chunk)
            pad = tokenizer.pad_token_id
            input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in chunk])
            labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in chunk])
            mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk])
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += float(loss.detach()) * len(chunk)
            logger.debug("%s: step loss %.4f", NAME, float(loss.detach()))
        logger.info("%s: epoch %d loss %.4f", NAME, epoch + 1, total / len(rows))
