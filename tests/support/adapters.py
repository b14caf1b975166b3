"""LoRA adapters built in-process with PEFT on the bundled chat model, for the tests."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import MODELS_DIR

CHAT_MODEL = "smollm2-135m-instruct"


def build_adapter(out: Path, *, seed: int = 0, rank: int = 8, scale: float = 1.0) -> Path:
    """A randomly initialised LoRA adapter (q/v projections) saved in ``out``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(MODELS_DIR / CHAT_MODEL, dtype=torch.float32)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,  # random B too, so that the adapter changes the output
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.mul_(scale)
    model.save_pretrained(out)
    return out


def merged_greedy(adapter: Path | None, prompt: str, max_new_tokens: int) -> str:
    """Transformers' greedy continuation of ``prompt`` by the base model with ``adapter``
    merged into it (the base alone without one)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODELS_DIR / CHAT_MODEL)
    model = AutoModelForCausalLM.from_pretrained(MODELS_DIR / CHAT_MODEL, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False)
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))


def build_foreign_adapter(out: Path) -> Path:
    """A LoRA adapter (q/v projections) of a tiny Llama of another width than the chat model:
    an adapter trained on another base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=1000,
    )
    lora = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(LlamaForCausalLM(config), lora).save_pretrained(out)
    return out
