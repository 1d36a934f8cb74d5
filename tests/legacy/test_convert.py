"""convert_mmcv_config / migrate_file: golden configs, errors, warnings (spec mmcv_legacy §5)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from mmhooks.errors import ConfigError, MMHooksTranslationWarning
from mmhooks.legacy.convert import convert_mmcv_config, migrate_file

DET = dict(
    model=dict(type="FasterRCNN"),
    evaluation=dict(interval=1, metric="bbox", save_best="bbox_mAP"),
    optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001),
    optimizer_config=dict(grad_clip=None),
    lr_config=dict(policy="step", warmup="linear", warmup_iters=500, warmup_ratio=0.001, step=[8, 11]),
    runner=dict(type="EpochBasedRunner", max_epochs=12),
    checkpoint_config=dict(interval=1, max_keep_ckpts=3),
    log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook"), dict(type="TensorboardLoggerHook")]),
    custom_hooks=[dict(type="NumClassCheckHook")],
    dist_params=dict(backend="nccl"),
    log_level="INFO",
    load_from=None,
    resume_from="work_dirs/latest.pth",
    workflow=[("train", 1)],
    opencv_num_threads=0,
    mp_start_method="fork",
    auto_scale_lr=dict(enable=False, base_batch_size=16),
)
DET_OUT = {
    "model": {"type": "FasterRCNN"},
    "train_cfg": {"by_epoch": True, "max_epochs": 12, "val_interval": 1},
    "optim_wrapper": {"type": "OptimWrapper",
                      "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}},
    "param_scheduler": [
        {"type": "LinearLR", "start_factor": 0.001, "end_factor": 1.0, "begin": 0, "end": 501, "by_epoch": False},
        {"type": "MultiStepLR", "milestones": [8, 11], "gamma": 0.1, "by_epoch": True},
    ],
    "log_processor": {"type": "LogProcessor", "window_size": 50, "by_epoch": True},
    "visualizer": {"type": "Visualizer", "vis_backends": [{"type": "LocalVisBackend"},
                                                          {"type": "TensorboardVisBackend"}]},
    "val_cfg": {"type": "ValLoop"},
    "val_evaluator": {"metric": "bbox"},
    "load_from": "work_dirs/latest.pth",
    "resume": True,
    "env_cfg": {"mp_cfg": {"mp_start_method": "fork", "opencv_num_threads": 0}, "dist_cfg": {"backend": "nccl"}},
    "log_level": "INFO",
    "auto_scale_lr": {"enable": False, "base_batch_size": 16},
    "default_hooks": {
        "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 3, "save_best": "bbox_mAP"},
        "logger": {"type": "LoggerHook", "interval": 50},
    },
    "custom_hooks": [{"type": "NumClassCheckHook"}],
}

SEG = dict(
    optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
    optimizer_config=dict(type="Fp16OptimizerHook", loss_scale="dynamic"),
    lr_config=dict(policy="poly", power=0.9, min_lr=1e-4, by_epoch=False),
    runner=dict(type="IterBasedRunner", max_iters=160000),
    checkpoint_config=dict(by_epoch=False, interval=16000),
    evaluation=dict(interval=16000, metric="mIoU", pre_eval=True),
    log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook", by_epoch=False)]),
    cudnn_benchmark=True,
    workflow=[("train", 1)],
)
SEG_OUT = {
    "train_cfg": {"by_epoch": False, "max_iters": 160000, "val_interval": 16000},
    "optim_wrapper": {"type": "AmpOptimWrapper",
                      "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005},
                      "loss_scale": "dynamic"},
    "param_scheduler": [{"type": "PolyLR", "eta_min": 0.0001, "power": 0.9, "begin": 0, "end": 160001,
                         "by_epoch": False}],
    "log_processor": {"type": "LogProcessor", "window_size": 50, "by_epoch": False},
    "visualizer": {"type": "Visualizer", "vis_backends": [{"type": "LocalVisBackend"}]},
    "val_cfg": {"type": "ValLoop"},
    "val_evaluator": {"metric": "mIoU", "pre_eval": True},
    "env_cfg": {"cudnn_benchmark": True},
    "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 16000, "by_epoch": False},
                      "logger": {"type": "LoggerHook", "interval": 50, "log_metric_by_epoch": False}},
}

D3 = dict(
    optimizer=dict(type="AdamW", lr=0.001, betas=(0.95, 0.99), weight_decay=0.01),
    optimizer_config=dict(type="GradientCumulativeOptimizerHook", cumulative_iters=2,
                          grad_clip=dict(max_norm=10, norm_type=2)),
    lr_config=dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4),
    momentum_config=dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4),
    runner=dict(type="EpochBasedRunner", max_epochs=40),
    checkpoint_config=dict(interval=1, create_symlink=False),
    log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook"), dict(type="PaviLoggerHook")]),
    evaluation=dict(interval=5, start=3),
    workflow=[("train", 1), ("val", 1)],
    custom_hooks=[dict(type="EMAHook", momentum=0.0002, interval=4, priority=49)],
    seed=0,
    deterministic=True,
)
_CONV = {"by_epoch": True, "convert_to_iter_based": True}
D3_COMMON = {
    "train_cfg": {"by_epoch": True, "max_epochs": 40, "val_interval": 5, "val_begin": 3},
    "optim_wrapper": {"type": "OptimWrapper",
                      "optimizer": {"type": "AdamW", "lr": 0.001, "betas": (0.95, 0.99), "weight_decay": 0.01},
                      "clip_grad": {"max_norm": 10, "norm_type": 2}, "accumulative_counts": 2},
    "log_processor": {"type": "LogProcessor", "window_size": 50, "by_epoch": True},
    "visualizer": {"type": "Visualizer", "vis_backends": [{"type": "LocalVisBackend"}]},
    "val_cfg": {"type": "ValLoop"},
    "val_evaluator": {},
    "randomness": {"seed": 0, "deterministic": True},
    "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1},
                      "logger": {"type": "LoggerHook", "interval": 50}},
}
EMA_OUT = {"type": "EMAHook", "ema_type": "ExponentialMovingAverage", "momentum": 0.0002**4, "interval": 4,
           "priority": 49}
D3_OUT = {
    **D3_COMMON,
    "param_scheduler": [
        {"type": "CosineAnnealingLR", "T_max": 16.0, "eta_min_ratio": 10, "begin": 0, "end": 16.0, **_CONV},
        {"type": "CosineAnnealingLR", "T_max": 24.0, "eta_min_ratio": 0.0001, "begin": 16.0, "end": 40, **_CONV},
        {"type": "CosineAnnealingMomentum", "T_max": 16.0, "eta_min_ratio": 0.85 / 0.95, "begin": 0, "end": 16.0,
         **_CONV},
        {"type": "CosineAnnealingMomentum", "T_max": 24.0, "eta_min_ratio": 1, "begin": 16.0, "end": 40, **_CONV},
    ],
    "custom_hooks": [EMA_OUT],
}
D3_EXACT_OUT = {
    **D3_COMMON,
    "custom_imports": {"imports": ["mmhooks.legacy.lr_updater", "mmhooks.legacy.momentum_updater"],
                       "allow_failed_imports": False},
    "custom_hooks": [
        {"type": "LegacyLrUpdaterHook", "policy": "cyclic", "target_ratio": (10, 1e-4), "cyclic_times": 1,
         "step_ratio_up": 0.4, "priority": "VERY_HIGH"},
        {"type": "LegacyMomentumUpdaterHook", "policy": "cyclic", "target_ratio": (0.85 / 0.95, 1),
         "cyclic_times": 1, "step_ratio_up": 0.4, "priority": "HIGH"},
        EMA_OUT,
    ],
}
D3_LOSSY_KEYS = ["workflow[1]", "lr_config.policy", "momentum_config.policy", "checkpoint_config.create_symlink",
                 "log_config.hooks[1].type", "evaluation.start", "evaluation", "custom_hooks[0]"]


@pytest.mark.parametrize(
    ("cfg", "exact", "want", "keys"),
    [
        (DET, False, DET_OUT, ["evaluation"]),
        (SEG, False, SEG_OUT, ["fp16", "evaluation"]),
        (D3, False, D3_OUT, D3_LOSSY_KEYS),
        (D3, True, D3_EXACT_OUT, [k for k in D3_LOSSY_KEYS if not k.endswith("_config.policy")]),
    ],
    ids=["mmdet_faster_rcnn_1x", "mmseg_poly_160k_fp16", "mmdet3d_cyclic", "mmdet3d_cyclic_exact"],
)
def test_golden(cfg: dict, exact: bool, want: dict, keys: list[str]) -> None:
    with pytest.warns(MMHooksTranslationWarning) as record:
        got, notes = convert_mmcv_config(cfg, exact=exact)
    assert got == want
    assert [n.split(": ", 1)[0] for n in notes] == keys
    assert [str(w.message) for w in record] == notes


def test_warning_text_is_pinned() -> None:
    _, notes = convert_mmcv_config(D3)
    assert notes[5] == ("evaluation.start: MMCV validates at 3, 8, ...; MMEngine at multiples of 5 from 3: every "
                        "validation point moves 2 later.")
    assert notes[1].startswith("lr_config.policy: Cyclic as two cosine phases")
    assert "relative difference 0.00865" in notes[1]


def test_lossless_config_warns_nothing() -> None:
    cfg = dict(runner=dict(type="EpochBasedRunner", max_epochs=12), lr_config=dict(policy="step", step=[8, 11]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, notes = convert_mmcv_config(cfg)
    assert notes == [] and out["param_scheduler"] == [
        {"type": "MultiStepLR", "milestones": [8, 11], "gamma": 0.1, "by_epoch": True}]


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (dict(evaluation=[dict(interval=1, metric="bbox")]), "evaluation: got [{'interval': 1, 'metric': 'bbox'}]; "
         "expected a dict. Fix: write evaluation = dict(...)."),
        (dict(workflow=[("train", 1), ("test", 1)]),
         "workflow[1]: got ('test', 1); expected a ('train', n) or ('val', n) pair. Fix: keep only ('train', n) / "
         "('val', n) entries (testing is configured with test_cfg in MMEngine)."),
        (dict(optimizer=dict(type="SGD", lr=0.1), optimizer_config=dict(type="OptimiserHook")),
         "optimizer_config.type: got 'OptimiserHook'; expected one of ['Fp16OptimizerHook', "
         "'GradientCumulativeFp16OptimizerHook', 'GradientCumulativeOptimizerHook', 'OptimizerHook']. "
         "Fix: did you mean 'OptimizerHook'?"),
        (dict(momentum_config=dict(policy="Cyclic", by_epoch=True)), "momentum_config.by_epoch: got True"),
    ],
    ids=["evaluation_list", "workflow_phase", "optimizer_hook_type", "momentum_args"],
)
def test_errors_name_the_key(cfg: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        convert_mmcv_config(cfg)
    assert str(info.value).startswith(message)


def test_migrate_file_with_base(tmp_path: Path) -> None:
    (tmp_path / "schedule.py").write_text(
        "optimizer = dict(type='SGD', lr=0.02, momentum=0.9)\n"
        "lr_config = dict(policy='step', step=[8, 11])\n"
        "runner = dict(type='EpochBasedRunner', max_epochs=12)\n"
    )
    (tmp_path / "main.py").write_text("_base_ = ['./schedule.py']\nrunner = dict(max_epochs=24)\nlog_level = 'INFO'\n")
    out = tmp_path / "new.py"
    text, notes = migrate_file(tmp_path / "main.py", out)
    assert notes == []
    assert text == (
        "# Converted from main.py by mmhooks migrate.\n"
        "train_cfg = dict(by_epoch=True, max_epochs=24)\n"
        "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9))\n"
        "param_scheduler = [dict(type='MultiStepLR', milestones=[8, 11], gamma=0.1, by_epoch=True)]\n"
        "log_level = 'INFO'\n"
    )
    assert out.read_text() == text
    namespace: dict = {}
    exec(text, namespace)  # the output is a loadable config
    assert namespace["train_cfg"] == {"by_epoch": True, "max_epochs": 24}


def test_migrate_writes_warnings_header(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text(
        "lr_config = dict(policy='inv', gamma=0.1, power=1.0)\nrunner = dict(type='EpochBasedRunner', max_epochs=3)\n"
        "optimizer = dict(type='SGD', lr=0.1)\n"
    )
    with pytest.warns(MMHooksTranslationWarning, match="lr_config.policy"):
        text, notes = migrate_file(tmp_path / "old.py")
    assert notes == ["lr_config.policy: 'inv' has no MMEngine scheduler; the LR is left at its base value, relative "
                     "difference up to 0.2 (20 %); keep MMCV's formula with --exact."]
    assert "# - lr_config.policy: 'inv' has no MMEngine scheduler" in text


def test_unknown_policy_is_kept_as_the_hook_mmcv_would_build_with_a_warning() -> None:
    """A project's own policy (an LrUpdaterHook subclass MMCV does not ship) is not an error: port it by hand."""
    cfg = dict(runner=dict(type="EpochBasedRunner", max_epochs=12),
               lr_config=dict(policy="WCosineAnnealing", warmup="linear", warmup_iters=500, min_lr=1e-5))
    with pytest.warns(MMHooksTranslationWarning, match="lr_config.policy: 'WCosineAnnealing' is not one of MMCV's"):
        out, notes = convert_mmcv_config(cfg)
    assert out["custom_hooks"] == [{"type": "WCosineAnnealingLrUpdaterHook", "warmup": "linear", "warmup_iters": 500,
                                    "min_lr": 1e-5, "priority": "VERY_HIGH"}]
    assert "param_scheduler" not in out
    assert "port that class by hand" in notes[0] and "did you mean" not in notes[0]


def test_unknown_logger_is_kept_as_a_custom_hook_with_a_warning() -> None:
    cfg = dict(log_config=dict(interval=20, hooks=[dict(type="TextLoggerHook"), dict(type="MyLoggerHook", x=1)]))
    with pytest.warns(MMHooksTranslationWarning, match=r"log_config.hooks\[1\].type: 'MyLoggerHook' .* port it"):
        out, _ = convert_mmcv_config(cfg)
    assert out["custom_hooks"] == [{"type": "MyLoggerHook", "interval": 20, "x": 1, "priority": "VERY_LOW"}]
    assert out["default_hooks"]["logger"] == {"type": "LoggerHook", "interval": 20}


def test_migrate_reads_base_variable_references_through_the_config_loader(tmp_path: Path) -> None:
    """mmpose 0.x's ``dataset_info={{_base_.dataset_info}}`` and mmocr 0.x's ``{{_base_.train_list}}``."""
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "coco.py").write_text(
        "dataset_info = dict(dataset_name='coco', keypoint_info={0: dict(name='nose', id=0)})\n")
    (tmp_path / "lists.py").write_text("train_list = [dict(type='OCRDataset', ann_file='a.txt')]\n")
    (tmp_path / "main.py").write_text(
        "_base_ = ['datasets/coco.py', './lists.py']\n"
        "runner = dict(type='EpochBasedRunner', max_epochs=2)\n"
        "data = dict(train=dict(dataset_info={{_base_.dataset_info}}, datasets={{_base_.train_list}}),\n"
        "            root='{{fileDirname}}')\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text, _ = migrate_file(tmp_path / "main.py", tmp_path / "new.py")
    from mmhooks.config import Config

    new = Config.fromfile(tmp_path / "new.py").to_dict()
    assert new["data"]["train"]["dataset_info"]["keypoint_info"] == {0: {"name": "nose", "id": 0}}
    assert new["data"]["train"]["datasets"] == [{"type": "OCRDataset", "ann_file": "a.txt"}]
    assert new["data"]["root"] == str(tmp_path)
    assert new["train_cfg"] == {"by_epoch": True, "max_epochs": 2}
