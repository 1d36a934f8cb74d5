"""Issue 14 item 3: a misspelt ``--cfg-options`` key is an error before anything runs; new keys follow one rule.

The rule (mmhooks.config.cfg_options.check_cfg_option_keys): a key path must
start with a key of the config or a key the Runner reads; below that, new keys
are allowed as MMEngine allows them, and merge the same way.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap

import pytest

from mmhooks.config import RUNNER_KEYS, Config, check_cfg_option_keys, merge_cfg_options
from mmhooks.errors import ConfigError

BASE = dict(model=dict(type="Net", depth=18), train_cfg=dict(by_epoch=True, max_epochs=4),
            param_scheduler=[dict(type="LinearLR", start_factor=0.1)], data_root="data/")


def test_misspelt_top_level_key_names_the_key_and_the_closest():
    cfg = Config(BASE)
    with pytest.raises(ConfigError) as info:
        merge_cfg_options(cfg, {"trian_cfg.max_epochs": 2})
    assert str(info.value) == (
        "trian_cfg.max_epochs: got 2; expected a --cfg-options key that starts with a key of the config or a key "
        "the Runner reads ('trian_cfg' is neither). Fix: did you mean 'train_cfg.max_epochs'?")
    assert cfg.to_dict() == BASE  # nothing merged


def test_an_option_far_from_any_key_lists_the_configs_keys():
    with pytest.raises(ConfigError, match=r"^zzz: got 1; .* Fix: check the spelling; the config's keys are "
                                          r"\['data_root', 'model', 'param_scheduler', 'train_cfg'\]\.$"):
        check_cfg_option_keys(Config(BASE), {"zzz": 1})


def test_all_options_are_checked_before_any_is_merged():
    cfg = Config(BASE)
    with pytest.raises(ConfigError, match=r"^lod_from: "):
        merge_cfg_options(cfg, {"model.depth": 50, "lod_from": "x.pth"})
    assert cfg.model.depth == 18


@pytest.mark.parametrize("options", [
    {"model.depth": 50, "model.backbone.frozen_stages": 1},  # existing key; new nested keys
    {"train_cfg.val_interval": 2, "param_scheduler.0.end": 3},  # new key in an existing dict; a list element
    {"load_from": "x.pth", "randomness.seed": 0, "default_scope": "mmdet", "work_dir": "w"},  # keys the Runner reads
    {"data_root": "other/"},
])
def test_allowed_options_merge_as_in_mmengine(options):
    mm_config = pytest.importorskip("mmengine.config")
    ours, theirs = Config(BASE), mm_config.Config(BASE)
    merge_cfg_options(ours, options)
    theirs.merge_from_dict(options)
    assert ours.to_dict() == theirs.to_dict()


def test_merge_from_dict_itself_still_adds_any_key_as_mmengine():
    """Programs that call merge_from_dict directly keep MMEngine's behaviour; the check is for command lines."""
    cfg = Config(BASE)
    cfg.merge_from_dict({"custom_key.value": 1})
    assert cfg.custom_key.value == 1


def test_runner_keys_are_the_runners_arguments():
    from mmhooks.runner import Runner

    assert set(inspect.signature(Runner.__init__).parameters) - {"self", "cfg"} == RUNNER_KEYS


@pytest.mark.slow
def test_cli_refuses_a_misspelt_option_before_writing_anything(tmp_path):
    config = tmp_path / "cfg.py"
    config.write_text(textwrap.dedent(f"""
        model = dict(type='Linear', in_features=2, out_features=1)
        work_dir = {str(tmp_path / 'work')!r}
        train_cfg = dict(by_epoch=True, max_epochs=4)
    """))
    result = subprocess.run([sys.executable, "-m", "mmhooks", "train", str(config), "--cfg-options",
                             "trian_cfg.max_epochs=2"], capture_output=True, text=True, cwd=tmp_path,
                            env=dict(os.environ), timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: trian_cfg.max_epochs: got 2; expected a --cfg-options key that starts with a key of the config or a "
        "key the Runner reads ('trian_cfg' is neither). Fix: did you mean 'train_cfg.max_epochs'?")
    assert sorted(os.listdir(tmp_path)) == ["cfg.py"]
