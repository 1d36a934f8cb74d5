"""MMLogger's file and console lines against MMEngine's MMLogger, and print_log."""

from __future__ import annotations

import itertools
import logging
import re

import pytest

mmengine = pytest.importorskip("mmengine")
from mmengine.logging import MMLogger as MMEngineLogger  # noqa: E402

import mmhooks.logging.logger as logger_module  # noqa: E402
from mmhooks.logging import MMLogger, print_log  # noqa: E402

_ids = itertools.count()
FILE_DATE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - ", re.M)
CONSOLE_DATE = re.compile(r"^\d{2}/\d{2} \d{2}:\d{2}:\d{2} - ", re.M)


def _emit(logger) -> None:
    logger.info("Epoch(train) [1][2/5]  lr: 1.0000e-02  ")
    logger.warning("careful")
    logger.warning("careful")  # duplicate warnings are dropped
    logger.debug("hidden at INFO")
    logger.error("broken")


def _close(logger) -> None:
    for handler in logger.handlers:
        handler.close()


def test_file_lines_match_mmengine(tmp_path):
    ours = MMLogger.get_instance(f"ours-{next(_ids)}", log_file=str(tmp_path / "ours.log"))
    theirs = MMEngineLogger.get_instance(f"theirs-{next(_ids)}", log_file=str(tmp_path / "theirs.log"))
    _emit(ours)
    _emit(theirs)
    _close(ours)
    _close(theirs)
    our_text = (tmp_path / "ours.log").read_text()
    their_text = (tmp_path / "theirs.log").read_text()
    assert len(FILE_DATE.findall(our_text)) == 3
    mask = "DATE - "
    ours_masked = FILE_DATE.sub(mask, our_text).replace(__file__, "FILE")
    theirs_masked = FILE_DATE.sub(mask, their_text).replace(__file__, "FILE")
    assert ours_masked == theirs_masked
    assert ours_masked.splitlines()[0] == "DATE - mmengine - INFO - Epoch(train) [1][2/5]  lr: 1.0000e-02  "


def test_console_lines_match_mmengine_without_colour(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # MMEngine's termcolor honours it too
    ours = MMLogger.get_instance(f"ours-{next(_ids)}")
    ours.info("hello")
    ours_out = capsys.readouterr().out
    theirs = MMEngineLogger.get_instance(f"theirs-{next(_ids)}")
    theirs.info("hello")
    theirs_out = capsys.readouterr().out
    assert CONSOLE_DATE.sub("", ours_out) == CONSOLE_DATE.sub("", theirs_out) == "mmengine - INFO - hello\n"


def test_no_file_handler_off_rank_zero(tmp_path, monkeypatch):
    monkeypatch.setattr(logger_module, "get_rank", lambda: 1)
    logger = MMLogger.get_instance(f"rank1-{next(_ids)}", log_file=str(tmp_path / "run.log"))
    assert [type(h) for h in logger.handlers] == [logging.StreamHandler]
    assert logger.handlers[0].level == logging.ERROR
    assert not (tmp_path / "run.log").exists()


def test_log_level_and_file_mode(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("previous\n")
    logger = MMLogger.get_instance(f"debug-{next(_ids)}", log_file=str(path), log_level="DEBUG", file_mode="a")
    logger.debug("shown")
    _close(logger)
    lines = path.read_text().splitlines()
    assert lines[0] == "previous"
    assert lines[1].endswith(" - mmengine - DEBUG - shown")


def test_bad_log_level():
    with pytest.raises(ValueError, match=r"^MMLogger.log_level: got 'LOUD'; expected one of"):
        MMLogger(f"bad-{next(_ids)}", log_level="LOUD")


def test_print_log_routes(capsys, tmp_path):
    name = f"routed-{next(_ids)}"
    logger = MMLogger.get_instance(name, log_file=str(tmp_path / "r.log"))
    print_log("to print")
    print_log("silent", logger="silent")
    print_log("by name", logger=name)
    print_log("current", logger="current", level=logging.WARNING)
    print_log("object", logger=logger)
    _close(logger)
    assert capsys.readouterr().out.splitlines()[0] == "to print"
    text = (tmp_path / "r.log").read_text()
    assert [line.split(" - ", 1)[1] for line in text.splitlines()] == [
        "mmengine - INFO - by name",
        "mmengine - WARNING - current",
        "mmengine - INFO - object",
    ]
    with pytest.raises(ValueError, match="print_log.logger: got 'never-created'"):
        print_log("x", logger="never-created")
