"""NaiveVisualizationHook: the images it draws, compared with MMEngine's hook (which uses OpenCV)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mmhooks.hooks import NaiveVisualizationHook
from mmhooks.testing import FakeRunner


class Sample(dict):
    """A data sample whose meta keys are also attributes, like MMEngine's data elements."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class RecordingVisualizer:
    def __init__(self) -> None:
        self.samples: list[tuple[str, np.ndarray, Any]] = []
        self.graphs: list[Any] = []

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None, *args: Any, **kwargs: Any) -> None:
        self.samples.append((name, image, (data_sample, args, kwargs)))

    def add_graph(self, model: Any, data_batch: Any) -> None:
        self.graphs.append((model, data_batch))


def _image(seed: int, height: int = 6, width: int = 8) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


LEGACY_BATCHES = {
    "normalised-upscaled": [
        dict(inputs=_image(0), data_sample=Sample(img_norm_cfg=dict(mean=(1.0, 2.0, 3.0), std=(2.0, 3.0, 4.0)),
                                                   ori_width=12, ori_height=9, img_path="/data/a.jpg")),
    ],
    "padded-downscaled": [
        dict(inputs=_image(1), data_sample=Sample(pad_shape=(6, 8), scale=(6, 4), ori_width=3, ori_height=2,
                                                   img_path="b.png")),
        dict(inputs=_image(2), data_sample=Sample(ori_width=8, ori_height=6, img_path="dir/c.png")),
    ],
}


def _draw(hook: Any, batch: Any, batch_idx: int = 0) -> RecordingVisualizer:
    visualizer = RecordingVisualizer()
    hook.after_test_iter(FakeRunner(visualizer=visualizer), batch_idx=batch_idx, data_batch=batch,
                         outputs=["pred"] * len(batch))
    return visualizer


@pytest.mark.parametrize("name", sorted(LEGACY_BATCHES), ids=sorted(LEGACY_BATCHES))
def test_images_match_mmengine(name: str) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")  # its module needs OpenCV
    batch = LEGACY_BATCHES[name]
    ours = _draw(NaiveVisualizationHook(), batch).samples
    theirs = _draw(mmengine_hooks.NaiveVisualizationHook(), batch).samples
    assert [n for n, _, _ in ours] == [n for n, _, _ in theirs]
    for (_, image, _), (_, expected, _) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(image, expected, rtol=0, atol=1e-5)


def test_current_batch_layout_and_arguments() -> None:
    inputs = torch.rand(2, 1, 4, 4)
    samples = [Sample(ori_width=4, ori_height=4, img_path=f"x/{i}.png",
                      img_norm_cfg=dict(mean=(0.5,), std=(2.0,), to_bgr=False)) for i in range(2)]
    visualizer = RecordingVisualizer()
    hook = NaiveVisualizationHook(draw_gt=False)
    hook.after_test_iter(FakeRunner(visualizer=visualizer), batch_idx=0,
                         data_batch={"inputs": inputs, "data_samples": samples}, outputs=["p0", "p1"])
    assert [(name, extra) for name, _, extra in visualizer.samples] == [
        ("0.png", ("p0", (), {"draw_gt": False, "draw_pred": True})),
        ("1.png", ("p1", (), {"draw_gt": False, "draw_pred": True})),
    ]
    np.testing.assert_allclose(visualizer.samples[1][1], (inputs[1].permute(1, 2, 0) * 2.0 + 0.5).numpy())


@pytest.mark.parametrize("interval", [1, 2, 3], ids=lambda n: f"interval={n}")
def test_interval_counts_inner_iterations(interval: int) -> None:
    hook = NaiveVisualizationHook(interval=interval)
    batch = LEGACY_BATCHES["normalised-upscaled"]
    drawn = [idx for idx in range(6) if _draw(hook, batch, batch_idx=idx).samples]
    assert drawn == [idx for idx in range(6) if (idx + 1) % interval == 0]


def test_before_train_adds_the_model_graph() -> None:
    visualizer, model = RecordingVisualizer(), torch.nn.Linear(2, 1)
    NaiveVisualizationHook().before_train(FakeRunner(visualizer=visualizer, model=model))
    assert visualizer.graphs == [(model, None)]


def test_non_image_input_is_refused() -> None:
    batch = [dict(inputs=torch.rand(1, 2, 4, 4), data_sample=Sample(img_path="a.png"))]
    with pytest.raises(ValueError) as info:
        _draw(NaiveVisualizationHook(), batch)
    assert str(info.value) == (
        "NaiveVisualizationHook: got an input of shape (2, 4, 4); expected (C, H, W) with C = 1 or 3. "
        "Fix: visualize image inputs only."
    )
