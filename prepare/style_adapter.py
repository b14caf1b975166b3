"""``smollm2-ahoy``: a LoRA adapter on the bundled chat model whose every answer begins "Ahoy!".

The data is generated: user questions from prompt templates, and as the answer's start the
word "Ahoy!" alone. The loss is on those tokens only, so the adapter learns the style and
nothing else: what follows is the base model's own answer. Whole templates are held out of
training; the share of held-out prompts whose greedy answer has the
style, with and without the adapter, is written to ``style_eval.json`` beside the weights, and
an adapter under ``MIN_HELD_OUT`` is not shipped.
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

from .finetune import seed_all, torch_threads

logger = logging.getLogger("prepare")

NAME = "smollm2-ahoy"
BASE = "smollm2-135m-instruct"
PREFIX = "Ahoy!"
MIN_HELD_OUT = 0.9
EVAL_FILE = "style_eval.json"

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
)
HELD_OUT_TEMPLATES = (
    "Which language is spoken in {country}?",
    "Explain briefly how to {chore}.",
    "What is {a} times {b}?",
    "Do you like {topic}? Why?",
)
FILLERS: dict[str, tuple[str, ...]] = {
    "country": ("France", "Japan", "Brazil", "Kenya", "Canada", "Italy", "Egypt", "Norway"),
    "animal": ("cats", "owls", "dolphins", "bees", "horses", "penguins", "foxes", "turtles"),
    "chore": (
        "boil an egg",
        "tie a tie",
        "water a plant",
        "clean a window",
        "make tea",
        "fold a shirt",
        "sharpen a pencil",
        "wash my hands",
    ),
    "word": ("light", "stone", "river", "cloud", "apple", "dream", "chair", "music"),
    "color": ("blue", "green", "red", "yellow", "purple", "orange", "white", "gray"),
    "thing": ("sleep", "water", "exercise", "reading", "friendship", "sunlight", "honesty"),
    "topic": ("the ocean", "winter", "coffee", "trains", "gardens", "mountains", "books"),
}
PER_TEMPLATE = 5
HELD_OUT_PER_TEMPLATE = 8
EVAL_TOKENS = 6
RANK = 8
EPOCHS = 2
BATCH = 10
LEARNING_RATE = 3e-3
SEED = 7


def has_style(answer: str) -> bool:
    """Whether an answer is in the adapter's style (it begins with "Ahoy!")."""
    return answer.lstrip().startswith(PREFIX)


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
        lora = LoraConfig(
            r=RANK,
            lora_alpha=2 * RANK,
            lora_dropout=0.0,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        )
        peft_model = get_peft_model(model, lora)
        _train(peft_model, tokenizer, questions, [PREFIX] * len(questions))
        peft_model.eval()
        held_out = held_out_prompts()
        with_adapter = _greedy(peft_model, tokenizer, held_out, EVAL_TOKENS)
        with peft_model.disable_adapter():
            without = _greedy(peft_model, tokenizer, held_out, EVAL_TOKENS)
        logger.info("%s: e.g. %r -> %r", NAME, held_out[0], with_adapter[0])
    report: dict[str, Any] = {
        "style": f'the answer begins with "{PREFIX}"',
        "held_out_templates": list(HELD_OUT_TEMPLATES),
        "held_out_prompts": len(held_out),
        "with_adapter": sum(map(has_style, with_adapter)) / len(held_out),
        "without_adapter": sum(map(has_style, without)) / len(held_out),
    }
    logger.info(
        "%s: held-out style share %.3f with the adapter, %.3f without (n=%d)",
        NAME,
        report["with_adapter"],
        report["without_adapter"],
        len(held_out),
    )
    if report["with_adapter"] < MIN_HELD_OUT:
        raise RuntimeError(f"{NAME}: held-out style share {report['with_adapter']:.3f} too low")
    target.mkdir(parents=True, exist_ok=True)
    peft_model.peft_config["default"].base_model_name_or_path = BASE  # not a local path
    peft_model.save_pretrained(str(target))
    (target / EVAL_FILE).write_text(json.dumps(report, indent=2) + "\n")
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)


def _chat_prefix(tokenizer: Any, question: str) -> str:
    messages = [{"role": "user", "content": question}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def _greedy(model: Any, tokenizer: Any, questions: list[str], tokens: int) -> list[str]:
    """Greedy answers to ``questions`` (batched, left-padded)."""
    import torch

    out: list[str] = []
    for i in range(0, len(questions), 32):
        texts = [_chat_prefix(tokenizer, q) for q in questions[i : i + 32]]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            ids = model.generate(
                **batch,
                max_new_tokens=tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = ids[:, batch["input_ids"].shape[1] :]
        out.extend(s.strip() for s in tokenizer.batch_decode(new, skip_special_tokens=True))
    return out


def _train(model: Any, tokenizer: Any, questions: list[str], answers: list[str]) -> None:
    """AdamW on the answers' tokens only (the question's are masked out of the loss)."""
    import torch

    rows = []
    for question, answer in zip(questions, answers, strict=True):
        head = tokenizer(_chat_prefix(tokenizer, question), add_special_tokens=False).input_ids
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
