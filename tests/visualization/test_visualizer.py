"""Visualizer: backend set-up, fan-out, instances and registration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmhooks.errors import ConfigError
from mmhooks.registry import VISUALIZERS
from mmhooks.visualization import LocalVisBackend, TensorboardVisBackend, Visualizer

_ids = itertools.count()


def test_backends_are_built_under_save_dir_vis_data(tmp_path):
    vis = Visualizer(
        f"v-{next(_ids)}",
        vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend", name="tb")],
        save_dir=str(tmp_path),
    )
    local, tensorboard = vis.get_backend("LocalVisBackend"), vis.get_backend("tb")
    assert isinstance(local, LocalVisBackend) and isinstance(tensorboard, TensorboardVisBackend)
    assert vis.get_backend("TensorboardVisBackend") is None
    vis.add_scalars({"loss": 1.5}, step=3, file_path="ts.json")
    vis.add_scalar("lr", 0.1, step=4)
    vis.close()
    assert (tmp_path / "vis_data" / "scalars.json").read_text().splitlines() == [
        '{"loss": 1.5, "step": 3}',
        '{"lr": 0.1, "step": 4}',
    ]
    assert (tmp_path / "vis_data" / "ts.json").read_text() == '{"loss": 1.5, "step": 3}\n'
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "vis_data").iterdir())


def test_backend_without_save_dir_is_skipped_with_warning():
    with pytest.warns(UserWarning, match=r"vis_backends\[0\]: LocalVisBackend has no save_dir and is skipped"):
        vis = Visualizer(f"v-{next(_ids)}", vis_backends=dict(type="LocalVisBackend"))
    assert vis.get_backend("LocalVisBackend") is None


def test_duplicate_backend_names_raise(tmp_path):
    with pytest.raises(ConfigError, match=r"^Visualizer.vis_backends\[1\].name: got 'LocalVisBackend'"):
        Visualizer(
            f"v-{next(_ids)}", vis_backends=[dict(type="LocalVisBackend")] * 2, save_dir=str(tmp_path)
        )


def test_unknown_backend_type_is_located(tmp_path):
    with pytest.raises(ConfigError, match=r"^Visualizer.vis_backends\[0\].type: got 'LocalBackend'.*LocalVisBackend"):
        Visualizer(f"v-{next(_ids)}", vis_backends=[dict(type="LocalBackend")], save_dir=str(tmp_path))


def test_get_instance_and_subclass_lookup():
    class TaskVisualizer(Visualizer):
        pass

    name = f"task-{next(_ids)}"
    task = TaskVisualizer.get_instance(name)
    assert TaskVisualizer.get_instance(name) is task
    assert Visualizer.get_current_instance() is task


def test_dataset_meta_image_and_datasample(tmp_path):
    vis = Visualizer(f"v-{next(_ids)}", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path))
    vis.dataset_meta = {"classes": ("cat",)}
    assert vis.dataset_meta == {"classes": ("cat",)}
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    vis.set_image(image.astype(np.float32))
    assert vis.get_image().dtype == np.uint8 and (vis.width, vis.height) == (3, 2)
    vis.add_image("img", image, step=1)
    assert (tmp_path / "vis_data" / "vis_image" / "img_1.png").read_bytes()[:4] == b"\x89PNG"
    assert vis.add_datasample("sample", image) is None  # the base class draws nothing (MMEngine)


def test_writes_happen_on_rank_zero_only(tmp_path, monkeypatch):
    import mmhooks.dist

    vis = Visualizer(f"v-{next(_ids)}", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path))
    monkeypatch.setattr(mmhooks.dist, "get_rank", lambda: 1)
    vis.add_scalars({"loss": 1.0}, step=1)
    assert not (tmp_path / "vis_data").exists()


def test_registered_in_visualizers(tmp_path):
    built = VISUALIZERS.build(dict(type="Visualizer", name=f"v-{next(_ids)}", save_dir=str(tmp_path)))
    assert isinstance(built, Visualizer)
