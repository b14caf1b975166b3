"""Tiny encoder-decoder models built in-process: T5, BART, Marian and M2M100 configs with
tokenizers trained by the ``tokenizers`` library, saved with ``save_pretrained``.

No encoder-decoder weights can be downloaded here; the weights are random (seeded) and the
tests compare the server with Transformers' own ``generate()`` on the same folder, so what
the models say does not matter, only that both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORDS = (
    "the cat sat on the mat while the dog slept near the door . a quick brown fox jumps over "
    "the lazy dog ! rain fell on the old town and the river rose . people met at the market to "
    "sell bread , fish and apples . the council voted on a new plan for roads and schools ? "
    "she wrote a long letter to her brother who lived far away . we can't go there , it's late "
    "and they're tired . scientists found water on a distant moon last year . the team won the "
    "final match after a hard season ."
)
CORPUS = [WORDS[i : i + 120] for i in range(0, len(WORDS), 40)] * 4
VOCAB_SIZE = 160  # Unigram pieces; byte-level BPE starts from 256 bytes and merges up to 400
MAX_LENGTH = 128
# M2M100's language tokens, as its tokenizer names them.
LANGUAGES = ("en", "de", "fr")

T5_PREFIXES = {
    "summarization": {"prefix": "summarize: "},
    "translation_en_to_de": {"prefix": "translate English to German: "},
    "translation_en_to_fr": {"prefix": "translate English to French: "},
}


@dataclass(frozen=True)
class Seq2SeqModels:
    t5: Path  # summarization and translation prefixes in task_specific_params
    bart: Path  # a summarizer shape: <s> ... </s>, byte-level BPE
    marian: Path  # a translator shape: ... </s>, pad as the decoder's start
    m2m100: Path  # multilingual: __en__ ... </s>, forced BOS for the target


def _tokenizer(specials: list[str], template: str, byte_level: bool, extra: list[str]) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if byte_level:
        tokenizer = Tokenizer(models.BPE(unk_token=None))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
    else:
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=VOCAB_SIZE, special_tokens=specials, unk_token="<unk>"
        )
    tokenizer.train_from_iterator(CORPUS, trainer)
    if extra:
        tokenizer.add_special_tokens(extra)
    pieces = template.split()
    tokens = {p: tokenizer.token_to_id(p) for p in pieces if p != "$A"}
    tokenizer.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=list(tokens.items())
    )
    return tokenizer


def _save_tokenizer(tokenizer: Any, target: Path, **specials: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, model_max_length=MAX_LENGTH, **specials
    )
    wrapped.save_pretrained(str(target))
    return wrapped


def _save(model: Any, target: Path, seed: int) -> None:
    import torch

    # Wider weights than the default init: clear winners at every step (no near-ties that
    # padding noise could flip between a batch and an input alone).
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.15)
    model.eval()
    model.save_pretrained(str(target))


def build_t5(target: Path) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = _tokenizer(["<pad>", "</s>", "<unk>"], "$A </s>", False, [])
    _save_tokenizer(tokenizer, target, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = T5Config(
        vocab_size=tokenizer.get_vocab_size(),
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        task_specific_params=T5_PREFIXES,
    )
    _save(T5ForConditionalGeneration(config), target, seed=1)
    return target


def build_bart(target: Path) -> Path:
    from transformers import BartConfig, BartForConditionalGeneration

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tokenizer = _tokenizer(specials, "<s> $A </s>", True, [])
    _save_tokenizer(
        tokenizer, target, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    config = BartConfig(
        vocab_size=tokenizer.get_vocab_size(),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_LENGTH,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
    )
    _save(BartForConditionalGeneration(config), target, seed=2)
    return target


def build_marian(target: Path) -> Path:
    from transformers import MarianConfig, MarianMTModel

    tokenizer = _tokenizer(["</s>", "<unk>", "<pad>"], "$A </s>", False, [])
    _save_tokenizer(tokenizer, target, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    vocab = tokenizer.get_vocab_size()
    config = MarianConfig(
        vocab_size=vocab,
        decoder_vocab_size=vocab,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=2,
        eos_token_id=0,
        decoder_start_token_id=2,
        share_encoder_decoder_embeddings=True,
    )
    _save(MarianMTModel(config), target, seed=3)
    return target


def build_m2m100(target: Path) -> Path:
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    codes = [f"__{code}__" for code in LANGUAGES]
    tokenizer = _tokenizer(["<s>", "<pad>", "</s>", "<unk>"], "__en__ $A </s>", False, codes)
    _save_tokenizer(
        tokenizer,
        target,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=codes,
    )
    config = M2M100Config(
        vocab_size=tokenizer.get_vocab_size(),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_LENGTH,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    _save(M2M100ForConditionalGeneration(config), target, seed=4)
    return target


def build_all(root: Path) -> Seq2SeqModels:
    """Every tiny model, each in its own folder under ``root``."""
    return Seq2SeqModels(
        t5=build_t5(root / "t5"),
        bart=build_bart(root / "bart"),
        marian=build_marian(root / "marian"),
        m2m100=build_m2m100(root / "m2m100"),
    )
