"""The start of a run's log as MMEngine writes it: environment summary, runtime settings, the config.

MMEngine writes these lines when its Runner is built; mmhooks writes them
when the run starts (the first moment a file may be written), in the same
order and layout, so tools and people reading the log find them where they
expect.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["collect_env", "log_run_start"]

_DASH_LINE = "-" * 60


def _gcc_version() -> str:
    try:
        out = subprocess.run(["gcc", "--version"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "n/a"
    return out.splitlines()[0].strip() if out else "n/a"


def collect_env() -> OrderedDict[str, Any]:
    """MMEngine's ``collect_env`` keys: platform, Python, devices, compilers and library versions."""
    import numpy as np
    import torch

    env: OrderedDict[str, Any] = OrderedDict()
    env["sys.platform"] = sys.platform
    env["Python"] = sys.version.replace("\n", "")
    cuda = torch.cuda.is_available()
    env["CUDA available"] = cuda
    env["MUSA available"] = False
    state: Any = np.random.get_state()
    env["numpy_random_seed"] = state[1][0]
    if cuda:
        devices: dict[str, list[str]] = {}
        for device in range(torch.cuda.device_count()):
            devices.setdefault(torch.cuda.get_device_name(device), []).append(str(device))
        for name, ids in devices.items():
            env["GPU " + ",".join(ids)] = name
        env["CUDA_HOME"] = os.environ.get("CUDA_HOME", "n/a")
    env["GCC"] = _gcc_version()
    env["PyTorch"] = torch.__version__
    env["PyTorch compiling details"] = torch.__config__.show()
    for label, module in (("TorchVision", "torchvision"), ("OpenCV", "cv2"), ("Lightning", "lightning"),
                          ("MMEngine", "mmengine")):
        version = _version_of(module)
        if version is not None:
            env[label] = version
    import mmhooks

    env["mmhooks"] = mmhooks.__version__
    return env


def _version_of(module: str) -> str | None:
    """The installed distribution's version, without importing the (possibly heavy or broken) module."""
    from importlib import metadata

    names = {"cv2": ("opencv-python", "opencv-python-headless"), "mmengine": ("mmengine", "mmengine-lite")}
    for name in names.get(module, (module,)):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def log_run_start(runner: Any, env_cfg: Mapping[str, Any] | None, randomness: Mapping[str, Any] | None,
                  then: Callable[[], None] | None = None) -> None:
    """Log the environment summary, the runtime settings and the config, as MMEngine's Runner does.

    ``then`` runs after the config (MMEngine builds the model there) and before the
    distributed-training line.
    """
    runtime: OrderedDict[str, Any] = OrderedDict()
    runtime.update(env_cfg or {})
    runtime.update(randomness or {})
    runtime["seed"] = runner.seed
    runtime["Distributed launcher"] = runner.launcher
    runtime["Distributed training"] = runner.distributed
    runtime["GPU number"] = runner.world_size
    env_text = "\n    " + "\n    ".join(f"{key}: {value}" for key, value in collect_env().items())
    runtime_text = "\n    " + "\n    ".join(f"{key}: {value}" for key, value in runtime.items())
    runner.logger.info(f"\n{_DASH_LINE}\nSystem environment:{env_text}\n\nRuntime environment:{runtime_text}\n"
                       f"{_DASH_LINE}\n")
    cfg = runner.cfg
    if cfg is not None and len(cfg):
        runner.logger.info(f"Config:\n{cfg.pretty_text}")
    if then is not None:
        then()
    if not runner.distributed:
        runner.logger.info("Distributed training is not used, all SyncBatchNorm (SyncBN) layers in the model will "
                           "be automatically reverted to BatchNormXd layers if they are used.")
