"""The model registry: the ``model`` field of every request picks a served model here."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from server.core.errors import ModelNotFound, Unavailable, WrongTask


@runtime_checkable
class ServedModel(Protocol):
    """What the registry and the HTTP layer need from any served model."""

    name: str
    task: str
    created: int

    @property
    def ready(self) -> bool:
        """True once the model is loaded and serving."""
        ...

    @property
    def healthy(self) -> bool:
        """False once the model's engine or workers died for good (the server then exits)."""
        ...

    @property
    def max_context(self) -> int | None:
        """Max tokens per request (prompt plus output for generation)."""
        ...

    @property
    def capabilities(self) -> list[str]:
        """Optional features the model offers beyond its task (e.g. 'tools'), for clients
        that pick a model by what it can do."""
        ...

    @property
    def runtime(self) -> str | None:
        """What runs the model ('vllm', 'torch', 'onnx', 'onnx-int8'); None until known."""
        ...

    async def start(self) -> None:
        """Load the model; raise if it cannot be served."""
        ...

    async def stop(self) -> None:
        """Release the model's engine or workers."""
        ...


@runtime_checkable
class ServesSeveralTasks(Protocol):
    """A served model that serves more than its configured task (an embedder also reranks),
    and may have instructions by name; /v1/models lists both."""

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task the model serves, its configured one included."""
        ...

    @property
    def prompts(self) -> dict[str, str] | None:
        """Instructions by name (embedding models), None where the model takes none."""
        ...


@runtime_checkable
class HasAdapters(Protocol):
    """A served model that may carry adapters (LoRA), each a served model of its own."""

    parent: str | None  # the base model's name, for an adapter

    @property
    def root(self) -> str:
        """Where the model's (or adapter's) weights come from."""
        ...

    def adapter_models(self) -> Sequence[ServedModel]:
        """A served model per adapter declared on this one."""
        ...


M = TypeVar("M", bound=ServedModel)


def served_tasks(model: ServedModel) -> tuple[str, ...]:
    """Every task ``model`` serves: its configured one, and more for some (an embedder
    also reranks and scores)."""
    # Not isinstance(model, ServesSeveralTasks): a runtime protocol check reads every member
    # of the protocol, on every request.
    tasks = getattr(model, "tasks", None)
    return tasks if isinstance(tasks, tuple) else (model.task,)


class ModelRegistry:
    """Served models by name, in configuration order."""

    def __init__(self, models: Iterable[ServedModel] = ()) -> None:
        self._models: dict[str, ServedModel] = {}
        # Models this replica was asked to serve (a stored adapter) and could not load, with
        # why: it serves the rest, and /ready and the metrics tell.
        self.failed: dict[str, str] = {}
        # What must finish a first pass before the server is ready (the stored runtime sets).
        self.pending: set[str] = set()
        # Models unloaded after their keep_alive (stopped; listed as unloaded), those being
        # loaded again, what loads one on demand, and when each model was last asked for.
        self.asleep: dict[str, ServedModel] = {}
        self.waking: set[str] = set()
        self.waker: Callable[[str], Awaitable[None]] | None = None
        self.used: dict[str, float] = {}
        for model in models:
            self.add(model)

    def add(self, model: ServedModel) -> None:
        if model.name in self._models:
            raise ValueError(f"duplicate model name {model.name!r}")
        self._models[model.name] = model

    def remove(self, name: str) -> ServedModel:
        """Stop routing requests to ``name`` (served or asleep); ``ModelNotFound`` if it is
        neither."""
        model = self._models.pop(name, None) or self.asleep.pop(name, None)
        if model is None:
            raise ModelNotFound(name)
        return model

    def sleep(self, models: Sequence[ServedModel]) -> None:
        """Move ``models`` (unloaded for idleness) out of the served set, still listed."""
        for model in models:
            self.asleep[model.name] = self._models.pop(model.name)

    def woken(self, models: Sequence[ServedModel]) -> None:
        """Serve ``models`` (loaded again) in place of their sleeping predecessors."""
        for model in models:
            self.asleep.pop(model.name, None)
            self._models[model.name] = model

    def listed(self) -> list[ServedModel]:
        """Every model /v1/models lists: served, and asleep."""
        return [*self._models.values(), *self.asleep.values()]

    def state(self, model: ServedModel) -> str:
        """``loaded``, ``loading`` or ``unloaded`` (asleep after its keep_alive)."""
        if model.name in self.asleep:
            return "loading" if model.name in self.waking else "unloaded"
        return "loaded" if model.ready else "loading"

    async def wake(self, name: str) -> None:
        """Load ``name`` again if it is asleep (the waker bounds the wait: 503 after)."""
        if name in self.asleep and self.waker is not None:
            await self.waker(name)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self) -> Iterator[ServedModel]:
        return iter(list(self._models.values()))

    def __len__(self) -> int:
        return len(self._models)

    @property
    def ready(self) -> bool:
        """True once every model is loaded, the stored runtime ones included."""
        return not self.pending and all(m.ready for m in self._models.values())

    @property
    def healthy(self) -> bool:
        """False once any model's engine or workers died for good."""
        return all(m.healthy for m in self._models.values())

    def get(self, name: str) -> ServedModel:
        """The model called ``name`` (loaded or not, asleep); ``ModelNotFound`` otherwise."""
        model = self._models.get(name) or self.asleep.get(name)
        if model is None:
            raise ModelNotFound(name)
        return model

    def lookup(self, name: str, kind: type[M], task: str) -> M:
        """The model called ``name`` if it is a ``kind``, loaded, and serves ``task``; typed
        errors otherwise (404 unknown, 400 wrong task, 503 loading).

        What a model serves may be known only once it is loaded (an encoder's head), so the
        task is checked after the model is found ready.
        """
        model = self.get(name)
        self.used[name] = time.monotonic()
        if not isinstance(model, kind):
            raise WrongTask(name, model.task, task)
        if name in self.asleep:
            raise Unavailable(f"model '{name}' is unloaded (idle): it loads on request")
        if not model.ready:
            raise Unavailable(f"model '{name}' is still loading")
        if task not in served_tasks(model):
            raise WrongTask(name, model.task, task)
        return model


def now() -> int:
    """Unix time in seconds, as OpenAI's ``created`` fields carry it."""
    return int(time.time())
