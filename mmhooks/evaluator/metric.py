"""``BaseMetric``: accumulate per-batch results, then compute dataset-level metrics once.

Each rank processes its share of the validation set; :meth:`BaseMetric.evaluate`
gathers every rank's results on rank zero in dataset order, drops the samples
a sampler repeated to even out the ranks, computes the metrics there, and
shares the dict with every rank.
"""

from __future__ import annotations

import logging
import pickle
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any

import torch
import torch.distributed as torch_dist

from mmhooks.dist import get_rank, get_world_size, is_distributed, is_main_process
from mmhooks.errors import ConfigError
from mmhooks.registry import METRICS

__all__ = ["BaseMetric", "DumpResults", "collect_results"]

log = logging.getLogger(__name__)

_COLLECT_DEVICES = ("cpu", "gpu", "npu")


def collect_results(results: list[Any], size: int) -> list[Any] | None:
    """Every rank's ``results`` on rank zero, in sampler order and cut to ``size``; ``None`` elsewhere.

    Ranks hold interleaved samples (rank ``r`` has samples ``r, r + W, ...``),
    so the parts are zipped back together before the padding is dropped.
    """
    if not is_distributed() or get_world_size() == 1:
        return results[:size]
    parts: list[Any] = [None] * get_world_size()
    torch_dist.all_gather_object(parts, results)
    if get_rank() != 0:
        return None
    ordered = [item for item in chain.from_iterable(zip_longest(*parts)) if item is not None]
    return ordered[:size]


def _to_cpu(data: Any) -> Any:
    """``data`` with every tensor and data element moved to the CPU."""
    if isinstance(data, torch.Tensor) or (callable(getattr(data, "to", None)) and hasattr(data, "to_dict")):
        return data.to("cpu")
    if isinstance(data, list):
        return [_to_cpu(item) for item in data]
    if isinstance(data, tuple):
        return tuple(_to_cpu(item) for item in data)
    if isinstance(data, dict):
        return {key: _to_cpu(value) for key, value in data.items()}
    return data


def _broadcast(value: Any) -> Any:
    """Rank zero's ``value`` on every rank."""
    if not is_distributed() or get_world_size() == 1:
        return value
    holder = [value]
    torch_dist.broadcast_object_list(holder, src=0)
    return holder[0]


class BaseMetric(metaclass=ABCMeta):
    """Base class for metrics: :meth:`process` each batch, :meth:`evaluate` once per validation run.

    Args:
        collect_device: ``"cpu"`` or ``"gpu"``: where results travel between ranks.
        prefix: Prepended to every metric name as ``prefix/name`` so that metrics
            of different evaluators do not collide; defaults to :attr:`default_prefix`.
        collect_dir: Accepted for MMEngine compatibility, only with ``collect_device="cpu"``.

    Raises:
        ConfigError: ``collect_device`` is unknown, or ``collect_dir`` is set with a GPU device.

    MMEngine parity:
        Results always travel with ``torch.distributed.all_gather_object``;
        ``collect_dir`` (MMEngine's shared-directory exchange) is not used.

    Example:
        >>> class Mean(BaseMetric):
        ...     default_prefix = "toy"
        ...     def process(self, data_batch, data_samples):
        ...         self.results.extend(data_samples)
        ...     def compute_metrics(self, results):
        ...         return {"mean": sum(results) / len(results)}
        >>> metric = Mean()
        >>> metric.process(None, [1.0, 2.0, 6.0])
        >>> metric.evaluate(size=2)
        {'toy/mean': 1.5}
    """

    default_prefix: str | None = None

    def __init__(self, collect_device: str = "cpu", prefix: str | None = None, collect_dir: str | None = None) -> None:
        where = type(self).__name__
        if collect_device not in _COLLECT_DEVICES:
            raise ConfigError("collect_device", collect_device, f"one of {list(_COLLECT_DEVICES)}",
                              "use collect_device='cpu'.", where)
        if collect_dir is not None and collect_device != "cpu":
            raise ConfigError("collect_dir", collect_dir, "None unless collect_device='cpu'",
                              "delete collect_dir or set collect_device='cpu'.", where)
        self._dataset_meta: dict[str, Any] | None = None
        self.collect_device = collect_device
        self.collect_dir = collect_dir
        self.results: list[Any] = []
        self.prefix = prefix or self.default_prefix
        if self.prefix is None:
            log.warning("%s: no prefix set, so its metric names are not prefixed. Fix: set default_prefix or pass "
                        "prefix=...", where)

    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        """Dataset meta information (class names, palette...), set by the runner from the dataset."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict[str, Any] | None) -> None:
        self._dataset_meta = dataset_meta

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Append what :meth:`compute_metrics` needs from one batch to ``self.results``."""

    @abstractmethod
    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        """Metrics of the whole dataset from every rank's ``results``, without the prefix."""

    def evaluate(self, size: int) -> dict[str, Any]:
        """Gather results from every rank, compute the metrics on rank zero, return them everywhere.

        Args:
            size: Samples in the whole dataset; results past it are sampler padding and are dropped.
        """
        if not self.results:
            log.warning("%s.evaluate: no results were processed. Fix: append to self.results in process().",
                        type(self).__name__)
        gathered = collect_results(self.results, size)
        metrics: dict[str, Any] | None = None
        if is_main_process():
            computed = self.compute_metrics(_to_cpu(gathered))
            metrics = {f"{self.prefix}/{k}": v for k, v in computed.items()} if self.prefix else computed
        metrics = _broadcast(metrics)
        self.results.clear()
        return metrics


@METRICS.register_module()
class DumpResults(BaseMetric):
    """Pickle all predictions to ``out_file_path`` for offline evaluation; reports no metrics.

    Args:
        out_file_path: Destination ending in ``.pkl`` or ``.pickle``.
        collect_device: See :class:`BaseMetric`.
        collect_dir: See :class:`BaseMetric`.
    """

    def __init__(self, out_file_path: str, collect_device: str = "cpu", collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix="dump", collect_dir=collect_dir)
        if not str(out_file_path).endswith((".pkl", ".pickle")):
            raise ConfigError("out_file_path", out_file_path, "a path ending in .pkl or .pickle",
                              "rename the file to end in .pkl.", "DumpResults")
        self.out_file_path = out_file_path

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        self.results.extend(_to_cpu(list(data_samples)))

    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        path = Path(self.out_file_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            pickle.dump(results, file)
        log.info("Saved the predictions to %s.", path)
        return {}
