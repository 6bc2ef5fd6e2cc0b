"""ModelChooser: one answer to "which model does this command use here"."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from jobs.models import ModelChooser
from presentation.sentences import for_member
from providers.base import ModelSpec
from providers.registry import ModelNotAllowed, ProviderRegistry
from settings import load_settings

URLS = {
    f"{p.upper()}_BASE_URL": f"https://{p}.example"
    for p in ("nanobanana", "nananobanana", "nanobananavideo")
}


@pytest.fixture
def registry() -> ProviderRegistry:
    env = {**URLS, "DISCORD_TOKEN": "x", "SANDBOX_PROVIDER": "1"}
    for provider in ("NANOBANANA", "NANANOBANANA", "NANOBANANAVIDEO"):
        env[f"{provider}_API_KEY"] = "k" * 24
    return ProviderRegistry.from_settings(load_settings(env))


@dataclass
class Rules:
    refused: set[str] = field(default_factory=set)
    defaults: dict[str, str] = field(default_factory=dict)

    def allows(self, spec: ModelSpec) -> bool:
        return spec.qualified_id not in self.refused

    def default_for(self, command_kind: str) -> str | None:
        return self.defaults.get(command_kind)


def test_the_server_default_comes_first_then_the_operators_then_the_first_enabled(registry):
    chooser = ModelChooser(registry, {"video": "nanobanana:grok-video"})
    server = Rules(defaults={"video": "nanobananavideo:nanobanana-video"})
    assert chooser.choose("video", server).qualified_id == "nanobananavideo:nanobanana-video"
    assert chooser.choose("video", Rules()).qualified_id == "nanobanana:grok-video"
    assert ModelChooser(registry, {}).choose("video").qualified_id == "nanobanana:veo-3.1-fast"


def test_a_default_gives_way_when_refused_or_unable_to_take_the_options(registry):
    chooser = ModelChooser(registry, {"video": "nanobanana:grok-video"})
    refused = Rules(refused={"nanobanana:grok-video", "nanobanana:veo-3.1-fast"})
    assert chooser.choose("video", refused).qualified_id == "nanobanana:veo-3.1"
    twelve = chooser.choose("video", accepts=lambda spec: 12 in spec.durations)
    assert twelve.qualified_id == "nanobanana:seedance-1.5-fast"


def test_each_command_runs_only_the_models_it_can(registry):
    chooser = ModelChooser(registry, {})
    animate = chooser.offered("animate")
    assert animate and all(spec.image_input for spec in animate)
    without_image = chooser.offered("video", images=False)
    assert "nanobananavideo:seedance2" not in {s.qualified_id for s in without_image}
    assert "nanobananavideo:seedance2" in {s.qualified_id for s in chooser.offered("video")}
    assert chooser.choose("animate", named="seedance2").qualified_id == "nanobananavideo:seedance2"
    with pytest.raises(ModelNotAllowed):
        chooser.choose("video", Rules(refused={"nanobanana:sora-2"}), named="nanobanana:sora-2")


def test_a_default_its_command_can_never_run_is_reported_at_start(registry):
    chooser = ModelChooser(
        registry,
        {
            "image": "nano-banana",  # fine
            "video": "seedance2",  # needs an image: /video with one can run it
            "animate": "no-such-model",
        },
    )
    ((variable, why),) = chooser.unusable_defaults()
    assert variable == "DEFAULT_ANIMATE_MODEL" and "`no-such-model`" in for_member(why)
