"""MMEngine-compatible configs: ``Config.fromfile`` with ``_base_`` inheritance, and ``--cfg-options``.

Example:
    >>> from mmhooks.config import Config
    >>> cfg = Config.fromstring("model = dict(type='Net', depth=18)", ".py")
    >>> cfg.model.depth
    18
"""

from __future__ import annotations

from mmhooks.config.base_marker import read_base
from mmhooks.config.cfg_options import DictAction, check_cfg_option_keys, merge_cfg_options, parse_cfg_options
from mmhooks.config.config import Config
from mmhooks.config.config_dict import ConfigDict
from mmhooks.config.errors import ConfigFileError, ConfigMergeError
from mmhooks.config.runner_keys import RUNNER_KEYS

__all__ = ["RUNNER_KEYS", "Config", "ConfigDict", "ConfigFileError", "ConfigMergeError", "DictAction",
           "check_cfg_option_keys", "merge_cfg_options", "parse_cfg_options", "read_base"]
