"""``/v1/models`` shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    task: str = Field(description="The configured task.")
    tasks: list[str] = Field(description="Every task the model serves (embed, rerank, score...).")
    pipeline_tags: list[str] = Field(
        default_factory=list,
        description="The Hugging Face pipeline tags of those tasks (summarization, "
        "translation, feature-extraction...): what POST /models/{name} takes.",
    )
    prompts: dict[str, str] | None = Field(
        None, description="An embedding model's instructions by name (input_type, prompt_name)."
    )
    max_model_len: int | None = None
    ready: bool = True
    state: str = Field("loaded", description="'loaded' (serving) or 'loading'.")
    runtime: str | None = Field(
        None,
        description="What runs the model: 'vllm' for generation; 'torch', 'onnx' or "
        "'onnx-int8' for encoders (known once its workers have loaded it).",
    )
    capabilities: list[str] = Field(
        default_factory=list,
        description="Features beyond the task: 'tools' (tool_choice 'auto' reads the model's "
        "own calls), 'reasoning' (thinking in reasoning_content).",
    )
    parent: str | None = Field(
        None, description="An adapter's base model (its id); null for a base model."
    )
    root: str | None = Field(
        None, description="Where the weights come from: the model's or the adapter's source."
    )


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
