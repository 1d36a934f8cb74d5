"""``PrepareTTAHook``: wrap the model in a test-time-augmentation model before testing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.hooks.hook import Hook
from mmhooks.registry import HOOKS, MODELS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["PrepareTTAHook"]


@HOOKS.register_module()
class PrepareTTAHook(Hook):
    """Replace ``runner.model`` by ``MODELS.build(tta_cfg)`` wrapped around it, in ``before_test``.

    The TTA model (a ``BaseTTAModel`` subclass in MMEngine and downstream
    projects) receives the current model as ``module`` and merges the
    predictions of the augmented views that the TTA pipeline produces.

    Args:
        tta_cfg: Config of the TTA model (``cfg.tta_model``), with a ``type``.

    Raises:
        ConfigError: ``tta_cfg`` is not a dict with a ``type``.

    MMEngine parity:
        MMEngine writes the model into ``tta_cfg`` itself; here the config is
        kept as given (the same object, as in MMEngine) but never modified: the
        model is added to a copy when it is built, so the hook keeps no
        reference to the model and can be reused.
    """

    priority = "NORMAL"

    def __init__(self, tta_cfg: dict[str, Any]) -> None:
        if not isinstance(tta_cfg, Mapping) or "type" not in tta_cfg:
            raise ConfigError(
                "tta_cfg", tta_cfg, "a dict with a 'type' naming a TTA model",
                "pass the config's tta_model, e.g. dict(type='DetTTAModel', tta_cfg=...).", "PrepareTTAHook",
            )
        self.tta_cfg = tta_cfg

    def before_test(self, runner: RunnerLike) -> None:
        runner.model = MODELS.build({**self.tta_cfg, "module": runner.model}, path="tta_model")
