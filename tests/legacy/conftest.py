import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "corpus: downloads OpenMMLab wheels and migrates all their configs (minutes); run with -m corpus")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Corpus tests run only when asked for (``-m corpus`` or ``MMHOOKS_CORPUS=1``): they download wheels."""
    asked = "corpus" in (config.getoption("markexpr", "") or "") or os.environ.get("MMHOOKS_CORPUS") == "1"
    if asked:
        return
    skip = pytest.mark.skip(reason="corpus run: select it with -m corpus (downloads the OpenMMLab wheels once)")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)
