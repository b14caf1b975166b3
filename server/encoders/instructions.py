"""Instructions for embedding models: which prompt an input type or prompt name selects.

A model maps names to prompts (its config's ``prompts``, else the folder's
``config_sentence_transformers.json``). Cohere's standard input types are always accepted:
on a model without a prompt for one, the text is embedded as it is (Cohere's SDK always
sends an input type). sentence-transformers folders often name their prompts ``query`` and
``document`` (or ``passage``): Cohere's search types use those when no prompt has their own
name.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.core.errors import InvalidRequest

STANDARD_INPUT_TYPES = ("search_query", "search_document", "classification", "clustering")
_ALIASES = {
    "search_query": ("query",),
    "search_document": ("document", "passage", "corpus"),
}


def allowed_input_types(prompts: Mapping[str, str]) -> list[str]:
    """Every input type a model with ``prompts`` accepts: the standard ones, then its own."""
    return [*STANDARD_INPUT_TYPES, *sorted(set(prompts) - set(STANDARD_INPUT_TYPES))]


def select_prompt(
    prompts: Mapping[str, str],
    *,
    input_type: str | None,
    prompt_name: str | None,
    default_name: str | None = None,
) -> str:
    """The text to prepend to every input ("" for none); 400 for a name the model lacks."""
    if input_type is not None and prompt_name is not None:
        raise InvalidRequest("give either input_type or prompt_name, not both", param="prompt_name")
    if prompt_name is not None:
        if prompt_name not in prompts:
            names = ", ".join(sorted(prompts)) or "none"
            raise InvalidRequest(
                f"prompt_name {prompt_name!r} is not one of this model's prompts ({names})",
                param="prompt_name",
            )
        return prompts[prompt_name]
    if input_type is None:
        return prompts.get(default_name, "") if default_name else ""
    if input_type in prompts:
        return prompts[input_type]
    for alias in _ALIASES.get(input_type, ()):
        if alias in prompts:
            return prompts[alias]
    if input_type in STANDARD_INPUT_TYPES:
        return ""
    raise InvalidRequest(
        f"input_type {input_type!r} is not supported by this model; "
        f"it accepts: {', '.join(allowed_input_types(prompts))}",
        param="input_type",
    )
