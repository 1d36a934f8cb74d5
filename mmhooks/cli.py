"""The ``mmhooks`` command line (also ``python -m mmhooks``).

Sub-commands import what they need when they run, so ``mmhooks --help``
answers without importing torch or Lightning.
"""

from __future__ import annotations

import argparse
import logging
import warnings
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from mmhooks.runner.backend import BACKENDS  # names only: no torch, no framework

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

    train = commands.add_parser(
        "train", help="train from an MMEngine config", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train from an MMEngine config on the Lightning Trainer. Checkpoints, the log and\n"
                    "TensorBoard events go to work_dir (default: work_dirs/<config name>).",
        epilog="example:\n  mmhooks train examples/configs/quickstart.py --cfg-options train_cfg.max_epochs=2")
    train.add_argument("config", help="config file (.py, .json or .yaml)")
    train.add_argument("--work-dir", metavar="DIR",
                       help="directory for checkpoints and logs (overrides work_dir)")
    train.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                       help="resume from CKPT, or from work_dir/last_checkpoint when CKPT is omitted")
    train.add_argument("--amp", action="store_true", help="mixed precision (AmpOptimWrapper)")
    train.add_argument("--cfg-options", nargs="+", action=_CfgOptions, default=[], metavar="KEY=VALUE",
                       help="override config keys, e.g. train_cfg.max_epochs=2 'optim_wrapper.optimizer.lr=0.1'")
    train.add_argument("--backend", choices=sorted(BACKENDS), default=None,
                       help="execution backend (overrides the config's backend key; default: lightning)")
    train.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    test = commands.add_parser(
        "test", help="test a checkpoint with an MMEngine config", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load CHECKPOINT into the config's model, run test_dataloader through test_evaluator\n"
                    "and print the metrics on the last line.",
        epilog="example:\n  mmhooks test examples/configs/quickstart.py work_dirs/quickstart/epoch_4.pth")
    test.add_argument("config", help="config file (.py, .json or .yaml) with test_dataloader, test_evaluator "
                                     "and test_cfg")
    test.add_argument("checkpoint", help="checkpoint to test (.pth), e.g. one that train left in work_dir")
    test.add_argument("--work-dir", metavar="DIR",
                      help="directory for the test log (overrides work_dir; default: work_dirs/<config name>)")
    test.add_argument("--cfg-options", nargs="+", action=_CfgOptions, default=[], metavar="KEY=VALUE",
                      help="override config keys, e.g. test_dataloader.batch_size=64")
    test.add_argument("--backend", choices=sorted(BACKENDS), default=None,
                      help="execution backend (overrides the config's backend key; default: lightning)")
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


def _read_config(path: str, options: Sequence[str]) -> Any:
    """The config with ``--cfg-options`` merged, without importing ``custom_imports`` (so without torch).

    The options are parsed first: a malformed item is reported before the file is read. A misspelt
    top-level key is an error (see :func:`mmhooks.config.merge_cfg_options`).
    """
    from mmhooks.config import Config, merge_cfg_options, parse_cfg_options

    overrides = parse_cfg_options(list(options)) if options else {}
    cfg = Config.fromfile(path, import_custom_modules=False)
    if overrides:
        merge_cfg_options(cfg, overrides)
    return cfg


def _import_custom_modules(cfg: Any) -> None:
    """Import the modules of ``custom_imports`` (they register the config's classes, and import torch)."""
    if cfg.get("custom_imports"):
        from mmhooks.config.custom_imports import import_custom_modules

        import_custom_modules(cfg["custom_imports"])


def _load_config(path: str, options: Sequence[str]) -> Any:
    cfg = _read_config(path, options)
    _import_custom_modules(cfg)
    return cfg


def _default_work_dir(cfg: Any, args: argparse.Namespace) -> None:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>`` (MMEngine's tools)."""
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = os.path.join("work_dirs", os.path.splitext(os.path.basename(args.config))[0])


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # URLs and model zoos (open-mmlab://...) are not local files


def _check_before_run(cfg: Any, command: str) -> None:
    """Mistakes found from the config alone, reported before torch is imported and before any file is written.

    Here they cost milliseconds instead of seconds of imports (the runner checks the checkpoint paths again,
    with the same message, for callers that do not come through the command line).
    """
    from mmhooks.errors import ConfigError

    _warn_missing_scope_package(cfg)
    resume = cfg.get("resume")
    for key, path in (("load_from", cfg.get("load_from")), ("resume", resume if isinstance(resume, str) else None)):
        if path is not None and not _URL.match(str(path)) and not os.path.isfile(path):  # the runner's rule
            raise ConfigError(key, path, "an existing checkpoint file",
                              "check the path (a relative path is relative to the current directory).")
    if command == "test":
        missing = [key for key in ("test_dataloader", "test_evaluator", "test_cfg") if cfg.get(key) is None]
        if missing:
            raise ConfigError(missing[0], None, "a test set to run 'mmhooks test' on (test_dataloader, "
                              "test_evaluator and test_cfg)",
                              "add them to the config; to test on the validation set write test_dataloader = "
                              "val_dataloader, test_evaluator = val_evaluator, test_cfg = dict().")
    _check_vis_backends(cfg)


def _check_vis_backends(cfg: Any) -> None:
    """A visualizer backend whose package is missing fails now, naming the install command."""
    from mmhooks.errors import ConfigError

    visualizer = cfg.get("visualizer")
    backends = visualizer.get("vis_backends") if isinstance(visualizer, dict) else None
    for index, backend in enumerate(backends if isinstance(backends, (list, tuple)) else []):
        kind = backend.get("type") if isinstance(backend, dict) else None
        name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
        package = _BACKEND_PACKAGES.get(name.rpartition(".")[2])
        if package is not None and not _installed(package):
            raise ConfigError("type", kind, f"a backend whose package is installed ({name} needs {package!r})",
                              f"{_install_command(package)}, or remove it from visualizer.vis_backends.",
                              f"visualizer.vis_backends[{index}]")


def _warn_missing_scope_package(cfg: Any) -> None:
    """``default_scope='mmdet'`` without mmdet installed: its classes cannot be built (MMEngine warns too)."""
    scope = cfg.get("default_scope")
    if scope in _OPENMMLAB_SCOPES and not _installed(scope):
        print(f"warning: default_scope: {scope!r} is not installed, so the classes it registers cannot be built. "
              f"Fix: {_install_command(scope)} (or mim install {_PIP_NAMES.get(scope, scope)}).", file=sys.stderr)


# Visualizer backends that need a package beyond mmhooks' own dependencies.
_BACKEND_PACKAGES = {"TensorboardVisBackend": "tensorboard"}
# OpenMMLab packages a config names as its default_scope.
_OPENMMLAB_SCOPES = ("mmagic", "mmaction", "mmcls", "mmdet", "mmdet3d", "mmedit", "mmfewshot", "mmflow", "mmgen",
                     "mmhuman3d", "mmocr", "mmpose", "mmpretrain", "mmrazor", "mmrotate", "mmselfsup", "mmseg",
                     "mmtrack", "mmyolo")
# Import name -> the pip requirement that provides it, where the two differ.
_PIP_NAMES = {
    "cv2": "opencv-python-headless",
    "mmaction": "mmaction2",
    "mmengine": "'mmengine-lite>=0.10,<0.11'",
    "mmseg": "mmsegmentation",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a module without a spec
        return False


def _install_command(module: str) -> str:
    """``pip install <requirement>`` for an import name (the same name unless listed in ``_PIP_NAMES``)."""
    return f"pip install {_PIP_NAMES.get(module, module)}"


def _set_backend(cfg: Any, args: argparse.Namespace) -> None:
    """``--backend`` wins over the config; ``--debug`` lets the backend's framework print its own banners."""
    from mmhooks.runner.backend import set_framework_verbosity

    if getattr(args, "backend", None):
        cfg.backend = args.backend
    set_framework_verbosity(bool(getattr(args, "debug", False)))


def _train(args: argparse.Namespace) -> int:
    cfg = _read_config(args.config, args.cfg_options)
    _default_work_dir(cfg, args)
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
    _set_backend(cfg, args)
    _check_before_run(cfg, "train")
    from mmhooks.runner.startup_gc import collection_paused

    # This process is the run's: the collector pauses through every import too (torch's included), not only
    # through the Runner's own start-up, until the first iteration (mmhooks.runner.startup_gc).
    with collection_paused(until_training=True):
        _import_custom_modules(cfg)
        from mmhooks.runner import Runner

        runner = Runner.from_cfg(cfg)
        runner.train()
    if runner.rank == 0:
        print(f"Finished. {runner.summary()}".replace("\n", "\n  "))
    return 0


def _test(args: argparse.Namespace) -> int:
    cfg = _read_config(args.config, args.cfg_options)
    _default_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    _set_backend(cfg, args)
    _check_before_run(cfg, "test")
    _import_custom_modules(cfg)
    from mmhooks.runner import Runner

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


def _config_error_types() -> tuple[type[BaseException], ...]:
    """The errors that mean "fix the config or the command": exit 2, message without the exception name.

    ``CheckpointLoadError`` lives in a module that imports torch; an error raised before that module
    was imported cannot be one, so it is only looked up when already loaded (errors stay fast).
    """
    from mmhooks.errors import ConfigError

    checkpoint = sys.modules.get("mmhooks.runner.checkpoint")
    load_error = getattr(checkpoint, "CheckpointLoadError", None)
    return (ConfigError,) if load_error is None else (ConfigError, load_error)


def _causes(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = err
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__
    return chain


def _missing_package(err: BaseException) -> str | None:
    """The top-level package of a ``ModuleNotFoundError`` in ``err``'s causes, when it is not installed."""
    for seen in _causes(err):
        name = getattr(seen, "name", None) if isinstance(seen, ModuleNotFoundError) else None
        if name and not _installed(name.split(".")[0]):
            return str(name.split(".")[0])
    return None


def _is_config_error(err: BaseException) -> bool:
    config_errors = _config_error_types() + (FileNotFoundError,)
    return any(isinstance(seen, config_errors) for seen in _causes(err))


def _describe(err: BaseException) -> str:
    """The innermost configuration error if one caused ``err``, else ``err`` itself, on one line.

    A package that is not installed gets the command that installs it.
    """
    config_errors = _config_error_types()
    text = f"{type(err).__name__}: {err}"
    for seen in _causes(err):
        if isinstance(seen, config_errors):
            text = str(seen)
            break
        if isinstance(seen, FileNotFoundError):  # our messages already name the file and a fix
            text = str(seen.args[0] if len(seen.args) == 1 else seen)
            break
    package = _missing_package(err)
    if package is not None and "pip install" not in text:
        text = f"{text}. Fix: install the package that provides {package!r}: {_install_command(package)}"
    return text.replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
