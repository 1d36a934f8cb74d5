"""``build_runner_with_tta``: a Runner that tests with the config's TTA pipeline and TTA model.

MMEngine keeps this function and ``PrepareTTAHook`` in
``mmengine.hooks.test_time_aug_hook``; both are importable from here under
that path (the hook itself lives in :mod:`mmhooks.hooks.prepare_tta_hook`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.hooks.prepare_tta_hook import PrepareTTAHook

__all__ = ["PrepareTTAHook", "build_runner_with_tta"]


def build_runner_with_tta(cfg: Any) -> Any:
    """An mmhooks Runner whose test set uses ``cfg.tta_pipeline`` and whose model is wrapped by ``cfg.tta_model``.

    As in MMEngine, ``cfg['test_dataloader']['dataset']['pipeline']`` is set to
    ``cfg['tta_pipeline']`` in the config passed in, and a
    :class:`PrepareTTAHook` wraps the model in ``before_test``.

    Args:
        cfg: The config (``Config`` or dict) with ``tta_model``, ``tta_pipeline`` and ``test_dataloader``.

    Raises:
        ConfigError: ``tta_model``, ``tta_pipeline`` or ``test_dataloader.dataset``
            is missing, or ``runner_type`` names a runner other than ``Runner``.
    """
    from mmhooks.runner import Runner

    for key, example in (("tta_model", "dict(type='DetTTAModel', tta_cfg=...)"),
                         ("tta_pipeline", "[dict(type='LoadImageFromFile'), dict(type='TestTimeAug', ...)]")):
        if cfg.get(key) is None:
            raise ConfigError(key, None, f"the config's {key}", f"add {key}={example} to the config.",
                              "build_runner_with_tta")
    dataset = (cfg.get("test_dataloader") or {}).get("dataset")
    if not isinstance(dataset, MutableMapping):
        raise ConfigError("test_dataloader.dataset", dataset, "a dataset config dict whose pipeline TTA replaces",
                          "set test_dataloader=dict(dataset=dict(type=..., pipeline=...), ...).",
                          "build_runner_with_tta")
    runner_type = cfg.get("runner_type", "Runner")
    if runner_type not in ("Runner", Runner):
        raise ConfigError("runner_type", runner_type, "'Runner' (mmhooks' Runner)",
                          "delete runner_type; mmhooks builds its own Runner.", "build_runner_with_tta")
    dataset["pipeline"] = cfg["tta_pipeline"]
    runner = Runner.from_cfg(cfg)
    runner.register_hook(PrepareTTAHook(tta_cfg=cfg["tta_model"]))
    return runner
