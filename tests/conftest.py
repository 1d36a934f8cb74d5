"""Shared fixtures: a quiet Lightning Trainer factory and tiny loaders."""

from __future__ import annotations

import os
import warnings

import pytest
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")


@pytest.fixture
def make_trainer(tmp_path):
    """A CPU Trainer without progress bar, summary, logger or default checkpointing."""
    import lightning.pytorch as pl

    quiet = dict(
        default_root_dir=str(tmp_path),
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    return lambda **kw: pl.Trainer(**{**quiet, **kw})


def _strict_dependencies() -> bool:
    """Under CI a missing test dependency is a failure, never a skip."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false") or os.environ.get("MMHOOKS_STRICT_DEPS") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _strict_dependencies() and call.excinfo is not None:
        message = str(call.excinfo.value)
        if message.startswith("could not import") or "No module named" in message:
            report.outcome = "failed"
            report.longrepr = f"missing test dependency under CI (pip install -e '.[test]'): {message}"


def pytest_addoption(parser):
    parser.addoption("--realpkg", action="store_true", default=False,
                     help="also run the tests marked realpkg (real mmpretrain and torchvision installed)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``realpkg`` need packages the suite never requires; they run only with --realpkg."""
    if config.getoption("--realpkg", default=False):
        return
    kept = [item for item in items if item.get_closest_marker("realpkg") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("realpkg")])
        items[:] = kept
