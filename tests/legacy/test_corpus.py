"""Every config in the mmdet 2.28.2, mmsegmentation 0.30.0 and mmcls 0.25.0 wheels, migrated as trees.

Opt-in (``-m corpus``): downloads the wheels once into ``$MMHOOKS_CORPUS_CACHE`` (default
``~/.cache/mmhooks-corpus``) and takes minutes. What is checked and how: ``benchmarks/migrate_corpus.py``.
The counts are the ones in README's MMCV section.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

# files per status, from README's MMCV section; the failures are configs MMCV 1.7.2 cannot read either
EXPECTED_FAILED = {
    "mmdet==2.28.2": set(),
    "mmsegmentation==0.30.0": set(),
    "mmcls==0.25.0": {"_base_/datasets/imagenet_bs64_autoaug.py", "_base_/models/van/van_base.py",
                      "_base_/models/van/van_large.py", "_base_/models/van/van_small.py",
                      "_base_/models/van/van_tiny.py", "mobilenet_v3/mobilenet-v3-small_8xb16_cifar10.py",
                      "mobilenet_v3/mobilenet_v3_small_cifar.py"},
}


def _script() -> Any:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "migrate_corpus.py"
    spec = importlib.util.spec_from_file_location("migrate_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("package", sorted(EXPECTED_FAILED))
def test_every_config_migrates_loads_and_has_an_exact_or_warned_schedule(package: str, tmp_path: Path) -> None:
    pytest.importorskip("mmengine")
    script = _script()
    cache = os.environ.get("MMHOOKS_CORPUS_CACHE", os.path.expanduser("~/.cache/mmhooks-corpus"))
    result = script.run_package(package, cache, str(tmp_path), 5)
    assert set(result["failed"]) == EXPECTED_FAILED[package], result["failed"]
    written = result["files"] - len(result["failed"])
    assert result["loads"] == {"mmhooks": written, "mmengine": written}
    assert result["problems"] == []
    assert result["schedules"].get("unflagged", 0) == 0
