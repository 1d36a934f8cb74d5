"""The ``mmhooks`` command line (also ``python -m mmhooks``).

Sub-commands import what they need when they run, so ``mmhooks --help``
answers without importing torch or Lightning.
"""

from __future__ import annotations

import argparse
import logging
import warnings
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main"]

EXIT_CONFIG_ERROR = 2
EXIT_RUN_ERROR = 1


class _CfgOptions(argparse.Action):
    """Collect ``--cfg-options k=v ...`` as raw strings; parsed later so errors name the item."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        items = list(getattr(namespace, self.dest) or [])
        items.extend(values)
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmhooks",
        description="Run MMEngine configs, hooks and schedulers on the PyTorch Lightning Trainer.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train from an MMEngine config")
    train.add_argument("config", help="config file (.py, .json or .yaml)")
    train.add_argument("--work-dir", help="directory for checkpoints and logs (overrides work_dir)")
    train.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                       help="resume from CKPT, or from work_dir/last_checkpoint when CKPT is omitted")
    train.add_argument("--amp", action="store_true", help="mixed precision (AmpOptimWrapper)")
    train.add_argument("--cfg-options", nargs="+", action=_CfgOptions, default=[], metavar="KEY=VALUE",
                       help="override config keys, e.g. train_cfg.max_epochs=2 'optim_wrapper.optimizer.lr=0.1'")
    train.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    test = commands.add_parser("test", help="test a checkpoint with an MMEngine config")
    test.add_argument("config")
    test.add_argument("checkpoint")
    test.add_argument("--work-dir")
    test.add_argument("--cfg-options", nargs="+", action=_CfgOptions, default=[], metavar="KEY=VALUE")
    test.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    migrate = commands.add_parser(
        "migrate", help="convert MMCV 1.x configs to MMEngine form: one file, or a folder as a _base_ tree")
    migrate.add_argument("config", help="an MMCV config file, or a folder of them (every _base_ inside it)")
    migrate.add_argument("-o", "--output", metavar="OUT",
                         help="the new config file (default: print it); for a folder, the output folder (required)")
    migrate.add_argument("--exact", action="store_true",
                         help="keep MMCV's lr/momentum formulas (LegacyLrUpdaterHook) where MMEngine's schedulers "
                              "would differ")
    migrate.add_argument("--iters-per-epoch", type=int, metavar="N",
                         help="train batches per epoch: makes by-iteration schedules of an EpochBasedRunner exact "
                              "and sizes the warnings for this epoch length (default: worst case)")
    migrate.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    plot = commands.add_parser("plot-schedule", help="plot the lr/momentum schedule of a config without training "
                               "(MMEngine param_scheduler, --exact outputs and MMCV lr_config alike)")
    plot.add_argument("config")
    plot.add_argument("-o", "--output", help="image file, needs matplotlib (default: print a table)")
    plot.add_argument("--epoch-length", type=int, help="iterations per epoch when the config cannot tell")
    plot.add_argument("--cfg-options", nargs="+", action=_CfgOptions, default=[], metavar="KEY=VALUE")
    plot.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _load_config(path: str, options: Sequence[str]) -> Any:
    from mmhooks.config import Config, parse_cfg_options

    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(parse_cfg_options(list(options)))
    return cfg


def _quiet_lightning(args: argparse.Namespace) -> None:
    """Hide Lightning's start-up banners (accelerator, tips): noise next to MMEngine's log lines.

    Lightning sets its logger's level when it is imported, so import it first.
    """
    if getattr(args, "debug", False):
        return
    import importlib

    importlib.import_module("lightning.pytorch")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")  # Lightning vs torch 2.13


def _train(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config, args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = os.path.join("work_dirs", os.path.splitext(os.path.basename(args.config))[0])
    if args.resume == "auto":
        cfg.resume = True
    elif args.resume:
        cfg.resume = args.resume
    if args.amp:
        optim_wrapper = cfg.get("optim_wrapper") or {}
        if optim_wrapper.get("type", "OptimWrapper") != "AmpOptimWrapper":
            optim_wrapper["type"] = "AmpOptimWrapper"
            optim_wrapper.setdefault("loss_scale", "dynamic")
        cfg.optim_wrapper = optim_wrapper
    from mmhooks.runner import Runner

    _quiet_lightning(args)
    Runner.from_cfg(cfg).train()
    return 0


def _test(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config, args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = os.path.join("work_dirs", os.path.splitext(os.path.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    from mmhooks.runner import Runner

    _quiet_lightning(args)
    metrics = Runner.from_cfg(cfg).test()
    print(" ".join(f"{k}: {v}" for k, v in metrics.items()))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """One file: print or write it, each lossy item reported once. A folder: convert the tree, report per file."""
    from mmhooks.errors import ConfigError, MMHooksTranslationWarning
    from mmhooks.legacy import migrate_file
    from mmhooks.legacy.migrate_tree import migrate_tree

    per_epoch = args.iters_per_epoch
    if per_epoch is not None and per_epoch <= 0:
        raise ConfigError("--iters-per-epoch", per_epoch, "a positive number of batches",
                          "pass the number of training batches in one epoch.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMHooksTranslationWarning)  # reported below, once
        if os.path.isdir(args.config):
            if not args.output:
                raise ConfigError("--output", None, "an output folder when converting a folder",
                                  "pass -o OUT_DIR.")
            report = migrate_tree(args.config, args.output, exact=args.exact, iters_per_epoch=per_epoch)
            for item in report.files:
                print(f"{item.status:<9} {item.path}")
                for message in item.warnings:
                    print(f"          warning: {message}")
                if item.error:
                    print(f"          error: {item.error}")
            print(report.summary())
            return EXIT_CONFIG_ERROR if report.counts()["failed"] else 0
        text, notes = migrate_file(args.config, args.output, exact=args.exact, iters_per_epoch=per_epoch)
    if args.output:
        for message in notes:
            print(f"warning: {message}", file=sys.stderr)
        print(f"written: {args.output} ({len(notes)} lossy item{'s' if len(notes) != 1 else ''})", file=sys.stderr)
    else:
        print(text, end="")
        if notes:  # listed in the printed header already
            print(f"{len(notes)} lossy item{'s' if len(notes) != 1 else ''}, listed in the header above",
                  file=sys.stderr)
    return 0


def _plot_schedule(args: argparse.Namespace) -> int:
    """MMEngine schedulers, ``--exact`` outputs' MMCV-formula hooks and MMCV ``lr_config`` alike."""
    import importlib.util

    from mmhooks.errors import ConfigError
    from mmhooks.legacy.schedule_trace import INSTALL_PLOT, draw_trace, legacy_updaters, simulate_config

    if args.output and importlib.util.find_spec("matplotlib") is None:
        raise ConfigError("--output", args.output, "matplotlib to draw the image",
                          f"install it with {INSTALL_PLOT}, or leave out -o for a table.")
    cfg = _load_config(args.config, args.cfg_options)
    config = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    if legacy_updaters(config):
        trace = simulate_config(config, args.epoch_length)
        if args.output:
            print(draw_trace(trace, args.output))
        else:
            from mmhooks.optim.scheduler.plot import schedule_table

            print(schedule_table(trace))
        return 0
    from mmhooks.optim.scheduler.plot import plot_schedule

    print(plot_schedule(config, args.output, epoch_length=args.epoch_length))
    return 0


_COMMANDS = {"train": _train, "test": _test, "migrate": _migrate, "plot-schedule": _plot_schedule}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG_ERROR
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_RUN_ERROR
    except Exception as err:  # one line for users; --debug shows the traceback
        if args.debug:
            raise
        print(f"error: {_describe(err)}", file=sys.stderr)
        return EXIT_CONFIG_ERROR if _is_config_error(err) else EXIT_RUN_ERROR


def _is_config_error(err: BaseException) -> bool:
    from mmhooks.errors import ConfigError

    from mmhooks.runner.checkpoint import CheckpointLoadError

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (ConfigError, FileNotFoundError, CheckpointLoadError)):
            return True
        seen = seen.__cause__
    return False


def _describe(err: BaseException) -> str:
    """The innermost configuration error if one caused ``err``, else ``err`` itself, on one line."""
    from mmhooks.errors import ConfigError

    from mmhooks.runner.checkpoint import CheckpointLoadError

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (ConfigError, CheckpointLoadError)):
            return str(seen).replace("\n", " ")
        if isinstance(seen, FileNotFoundError):  # our messages already name the file and a fix
            return str(seen.args[0] if len(seen.args) == 1 else seen).replace("\n", " ")
        seen = seen.__cause__
    return f"{type(err).__name__}: {err}".replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
