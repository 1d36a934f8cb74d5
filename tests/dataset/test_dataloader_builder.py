"""build_dataloader follows MMEngine's Runner.build_dataloader and locates bad configs by key path."""

from __future__ import annotations

import copy
import warnings
from functools import partial
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader

from mmhooks.dataset import DefaultSampler, SlicedDataset, build_dataloader, pseudo_collate
from mmhooks.dataset.worker_init import worker_init_fn
from mmhooks.errors import ConfigError

mmengine = pytest.importorskip("mmengine")
from mmengine.runner import Runner as MMRunner  # noqa: E402


def _dataset(n: int = 10) -> list[dict[str, Any]]:
    return [{"inputs": torch.full((2,), float(i)), "label": i} for i in range(n)]


def _labels(loader: DataLoader) -> list[list[int]]:
    return [list(batch["label"]) if isinstance(batch["label"], list) else batch["label"].tolist()
            for batch in loader]


CONFIGS = {
    "shuffled": dict(batch_size=3, sampler=dict(type="DefaultSampler", shuffle=True)),
    "ordered_drop_last": dict(batch_size=4, drop_last=True, sampler=dict(type="DefaultSampler", shuffle=False)),
    "explicit_seed": dict(batch_size=2, sampler=dict(type="DefaultSampler", shuffle=True, seed=99)),
    "num_batch_per_epoch": dict(batch_size=2, num_batch_per_epoch=3, sampler=dict(type="DefaultSampler")),
    "default_collate": dict(batch_size=5, collate_fn=dict(type="default_collate"),
                            sampler=dict(type="DefaultSampler", shuffle=False)),
    "batch_sampler": dict(batch_size=3, sampler=dict(type="DefaultSampler", shuffle=True),
                          batch_sampler=dict(type="torch.utils.data.BatchSampler", drop_last=False)),
}


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("diff_rank_seed", [False, True], ids=["same_seed", "diff_rank_seed"])
def test_batches_match_mmengine(cfg: dict[str, Any], diff_rank_seed: bool) -> None:
    dataset = _dataset()
    ours_cfg = dict(copy.deepcopy(cfg), dataset=dataset)
    theirs_cfg = dict(copy.deepcopy(cfg), dataset=dataset)
    if diff_rank_seed:  # the sampler then draws its seed: make the draw identical on both sides
        import numpy as np

        np.random.seed(5)
        ours = build_dataloader(ours_cfg, seed=7, diff_rank_seed=True)
        np.random.seed(5)
        theirs = MMRunner.build_dataloader(theirs_cfg, seed=7, diff_rank_seed=True)
    else:
        ours = build_dataloader(ours_cfg, seed=7)
        theirs = MMRunner.build_dataloader(theirs_cfg, seed=7)
    assert len(ours) == len(theirs)
    assert _labels(ours) == _labels(theirs)
    assert _index_sampler(ours, cfg).seed == _index_sampler(theirs, cfg).seed


def _index_sampler(loader: DataLoader, cfg: dict[str, Any]) -> Any:
    return loader.batch_sampler.sampler if "batch_sampler" in cfg else loader.sampler


def test_seed_is_injected_into_sampler_and_workers() -> None:
    loader = build_dataloader(dict(dataset=_dataset(), batch_size=2, num_workers=2, sampler=dict(type="DefaultSampler")),
                              seed=11, rank=2)
    assert loader.sampler.seed == 11
    assert isinstance(loader.worker_init_fn, partial)
    assert loader.worker_init_fn.func is worker_init_fn
    assert loader.worker_init_fn.keywords == dict(num_workers=2, rank=2, seed=11, disable_subprocess_warning=False)
    assert loader.collate_fn is pseudo_collate


def test_no_seed_means_no_worker_init_fn() -> None:
    loader = build_dataloader(dict(dataset=_dataset(), batch_size=2, sampler=dict(type="DefaultSampler", seed=0)))
    assert loader.worker_init_fn is None


def test_worker_init_fn_config_is_bound() -> None:
    def init(worker_id: int, scale: int) -> None:
        del worker_id, scale

    loader = build_dataloader(dict(dataset=_dataset(), batch_size=2, sampler=dict(type="DefaultSampler", seed=0),
                                   worker_init_fn=dict(type=init, scale=3)), seed=1)
    assert (loader.worker_init_fn.func, loader.worker_init_fn.keywords) == (init, {"scale": 3})


def test_num_batch_per_epoch_counts_every_rank() -> None:
    loader = build_dataloader(dict(dataset=_dataset(100), batch_size=2, num_batch_per_epoch=3,
                                   sampler=dict(type="DefaultSampler", seed=0)), world_size=4)
    assert isinstance(loader.dataset, SlicedDataset)
    assert len(loader.dataset) == 24


class FullInitDataset(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n, self.initialised = n, False

    def full_init(self) -> None:
        self.initialised = True

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        return index


def test_dataset_dict_is_built_and_fully_initialised() -> None:
    loader = build_dataloader(dict(dataset=dict(type=FullInitDataset, n=4), batch_size=2,
                                   sampler=dict(type="DefaultSampler", shuffle=False)))
    assert loader.dataset.initialised
    assert list(loader) == [[0, 1], [2, 3]]


def test_built_dataloader_is_returned_unchanged() -> None:
    loader = DataLoader(_dataset())
    assert build_dataloader(loader) is loader


def test_missing_batch_size_warns_with_key_path_and_uses_one() -> None:
    with pytest.warns(UserWarning) as record:
        loader = build_dataloader(dict(dataset=_dataset(3), sampler=dict(type="DefaultSampler", seed=0)),
                                  path="test_dataloader")
    assert str(record[0].message) == (
        "test_dataloader.batch_size: not set; DataLoader's default batch_size=1 is used. "
        "Fix: set batch_size in the dataloader config."
    )
    assert loader.batch_size == 1


def test_batch_size_in_batch_sampler_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loader = build_dataloader(dict(dataset=_dataset(4), sampler=dict(type=DefaultSampler, seed=0),
                                       batch_sampler=dict(type="torch.utils.data.BatchSampler", batch_size=2,
                                                          drop_last=False)), path="val_dataloader")
    assert len(loader) == 2


BAD = {
    "not_a_dict": (
        [1, 2], "val_dataloader",
        "val_dataloader: got [1, 2]; expected a dataloader config dict or a torch DataLoader. "
        "Fix: write dict(dataset=..., sampler=..., batch_size=...).",
    ),
    "no_dataset": (
        dict(batch_size=2, sampler=dict(type="DefaultSampler")), "train_dataloader",
        "train_dataloader.dataset: got None; expected a dataset config dict or a Dataset object. "
        "Fix: add dataset=dict(type=...) to the dataloader config.",
    ),
    "no_sampler": (
        dict(batch_size=2, dataset=[1, 2]), "train_dataloader",
        "train_dataloader.sampler: got None; expected a sampler config dict or a Sampler object. "
        "Fix: add sampler=dict(type='DefaultSampler', shuffle=True) (or InfiniteSampler).",
    ),
    "unknown_key": (
        dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), num_worker=2), "train_dataloader",
        "train_dataloader.num_worker: got 2; expected a dataloader key (",
    ),
    "shuffle_with_sampler": (
        dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), shuffle=True), "train_dataloader",
        "train_dataloader.shuffle: got True; expected no shuffle key when a sampler is set. "
        "Fix: delete it and set sampler=dict(type='DefaultSampler', shuffle=...).",
    ),
    "persistent_without_workers": (
        dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), persistent_workers=True),
        "train_dataloader",
        "train_dataloader.persistent_workers: got True; expected False when num_workers is 0. "
        "Fix: set num_workers > 0 or persistent_workers=False.",
    ),
    "num_batch_per_epoch_zero": (
        dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), num_batch_per_epoch=0),
        "train_dataloader",
        "train_dataloader.num_batch_per_epoch: got 0; expected a positive int or None. "
        "Fix: set it to the number of batches each rank should see per epoch.",
    ),
    "collate_fn_not_callable": (
        dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), collate_fn=3), "train_dataloader",
        "train_dataloader.collate_fn: got 3; expected a callable or a dict with type. "
        "Fix: use collate_fn=dict(type='pseudo_collate').",
    ),
}


@pytest.mark.parametrize(("cfg", "path", "message"), BAD.values(), ids=BAD.keys())
def test_bad_configs_raise_located_errors(cfg: Any, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_dataloader(cfg, seed=0, path=path)
    assert str(err.value).startswith(message)
    assert message.endswith("(") or str(err.value) == message


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match=r"Fix: rename it to 'num_workers'\.$"):
        build_dataloader(dict(batch_size=2, dataset=[1, 2], sampler=dict(type="DefaultSampler"), num_worker=2))


@pytest.mark.parametrize(
    ("cfg", "pattern"),
    [
        (dict(sampler=dict(type="DefaultSampeler")),
         r"^train_dataloader.sampler.type: got 'DefaultSampeler'; .*Fix: did you mean 'DefaultSampler'\?$"),
        (dict(sampler=dict(type="DefaultSampler", shufle=True)),
         r"^train_dataloader.sampler.shufle: got True; .*Fix: rename it to 'shuffle'\.$"),
        (dict(sampler=dict(type="DefaultSampler"), collate_fn=dict(type="pseudo_colate")),
         r"^train_dataloader.collate_fn.type: got 'pseudo_colate'; .*Fix: did you mean 'pseudo_collate'\?$"),
    ],
    ids=["sampler_type", "sampler_arg", "collate_type"],
)
def test_bad_types_and_arguments_are_located(cfg: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        build_dataloader(dict(cfg, batch_size=2, dataset=[1, 2]), seed=0)
