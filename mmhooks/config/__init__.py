"""MMEngine-compatible configs: ``Config.fromfile`` with ``_base_`` inheritance, and ``--cfg-options``.

Example:
    >>> from mmhooks.config import Config
    >>> cfg = Config.fromstring("model = dict(type='Net', depth=18)", ".py")
    >>> cfg.model.depth
    18
"""

from __future__ import annotations

from mmhooks.config.cfg_options import DictAction, parse_cfg_options
from mmhooks.config.config import Config
from mmhooks.config.config_dict import ConfigDict
from mmhooks.config.errors import ConfigFileError, ConfigMergeError

__all__ = ["Config", "ConfigDict", "ConfigFileError", "ConfigMergeError", "DictAction", "parse_cfg_options"]
