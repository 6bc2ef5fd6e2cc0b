"""Which model a command uses. One answer for the commands, their autocomplete, /credits,
/settings and the start-up check of DEFAULT_*_MODEL, so that nothing can describe a model
other than the one the command would run.

The order: the model the member names; else the server's /settings default, else the
operator's DEFAULT_*_MODEL, each when the server allows it, the command can use it and it
takes every option given; else the first allowed enabled model that can and does, in the
registry's order (see ProviderRegistry.resolve).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from providers.base import Kind, ModelSpec
from providers.registry import ProviderRegistry, UnknownModel

CommandKind = Literal["image", "video", "animate"]


@dataclass(frozen=True)
class CommandModels:
    """What kind of model a command runs, and whether it needs an input image."""

    kind: Kind
    without_images: bool | None  # the models it can run when given no image: None any,
    # False only those that need none (/video), True only those that take one (/animate)
    variable: str  # the operator's default for it

    def image_input(self, images: bool | None) -> bool | None:
        """The registry's ``image_input`` filter: images given (True), none (False), or not
        known yet (None: every model the command can run in some way)."""
        if images:
            return True
        if images is None:
            return True if self.without_images is True else None
        return self.without_images


COMMANDS: dict[str, CommandModels] = {
    "image": CommandModels(Kind.IMAGE, None, "DEFAULT_IMAGE_MODEL"),
    "video": CommandModels(Kind.VIDEO, False, "DEFAULT_VIDEO_MODEL"),
    "animate": CommandModels(Kind.VIDEO, True, "DEFAULT_ANIMATE_MODEL"),
}


class ServerRules(Protocol):
    """A server's say over models (quota.server_settings.GuildPolicy)."""

    def allows(self, spec: ModelSpec) -> bool: ...

    def default_for(self, command_kind: str) -> str | None: ...


class ModelChooser:
    def __init__(self, registry: ProviderRegistry, defaults: Mapping[str, str | None]) -> None:
        self.registry = registry
        self.defaults = dict(defaults)  # command -> the operator's DEFAULT_*_MODEL

    def operator_default(self, command: str) -> str | None:
        return self.defaults.get(command)

    def choose(
        self,
        command: str,
        server: ServerRules | None = None,
        *,
        named: str | None = None,
        images: bool | None = False,
        accepts: Callable[[ModelSpec], bool] | None = None,
    ) -> ModelSpec:
        """The model ``command`` runs in ``server`` (see the module docstring). ``images``:
        whether the member gives an input image; ``accepts``: whether a model takes the
        options given. Raises UnknownModel (a LookupError) saying why."""
        spec = COMMANDS[command]
        return self.registry.resolve(
            named,
            spec.kind,
            default=self.operator_default(command),
            server_default=server.default_for(command) if server is not None else None,
            image_input=spec.image_input(images),
            accepts=accepts,
            allowed=server.allows if server is not None else None,
        )

    def offered(
        self, command: str, server: ServerRules | None = None, *, images: bool | None = None
    ) -> list[ModelSpec]:
        """The enabled models ``command`` can run (given ``images``), that ``server`` allows."""
        spec = COMMANDS[command]
        return [
            model
            for model in self.registry.models(spec.kind, image_input=spec.image_input(images))
            if server is None or server.allows(model)
        ]

    def unusable_defaults(self) -> list[tuple[str, UnknownModel]]:
        """(variable, why) for each DEFAULT_*_MODEL its command can never run (the caller
        words why: presentation/sentences/)."""
        found = []
        for command, spec in COMMANDS.items():
            name = self.operator_default(command)
            if not name:
                continue
            try:
                self.choose(command, named=name, images=None)
            except UnknownModel as exc:
                found.append((spec.variable, exc))
        return found
