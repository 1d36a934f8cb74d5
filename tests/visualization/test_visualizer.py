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


# ----------------------------------------------------- instances (MMEngine's ManagerMixin contract)
def test_instance_semantics_equal_mmengine():
    mm_vis = pytest.importorskip("mmengine.visualization")
    for cls in (Visualizer, mm_vis.Visualizer):
        name = f"sem-{next(_ids)}"
        assert not cls.check_instance_created(name)
        first = cls.get_instance(name)
        assert cls.check_instance_created(name) and first.instance_name == name
        assert cls.get_current_instance() is first
        with pytest.warns(UserWarning):  # keyword arguments for an existing instance are ignored
            assert cls.get_instance(name, save_dir="ignored") is first
        plain = cls(f"plain-{next(_ids)}")  # a plain constructor call registers nothing
        assert not cls.check_instance_created(plain.instance_name) and cls.get_current_instance() is first


def test_registry_builds_visualizers_through_get_instance(tmp_path):
    name = f"built-{next(_ids)}"
    built = VISUALIZERS.build(dict(type="Visualizer", name=name, save_dir=str(tmp_path)))
    assert Visualizer.get_current_instance() is built and Visualizer.check_instance_created(name)
    assert VISUALIZERS.build(dict(type="Visualizer", name=name)) is built  # the same named instance, as MMEngine


def test_mmengine_registry_builds_the_same_way(tmp_path):
    """Differential: MMEngine's build_from_cfg also returns the named instance for a ManagerMixin class."""
    mm_registry = pytest.importorskip("mmengine.registry")
    name = f"mm-built-{next(_ids)}"
    theirs = mm_registry.VISUALIZERS.build(dict(type="Visualizer", name=name))
    assert mm_registry.VISUALIZERS.build(dict(type="Visualizer", name=name)) is theirs
    assert type(theirs).get_current_instance() is theirs


def test_subclass_instance_is_the_base_class_current_instance_in_mmengine_too():
    mm_vis = pytest.importorskip("mmengine.visualization")

    @VISUALIZERS.register_module(force=True)
    class ToyTaskVisualizer(Visualizer):
        def __init__(self, name="toy", **kwargs):
            super().__init__(name, **kwargs)

    built = VISUALIZERS.build(dict(type="ToyTaskVisualizer", name=f"toy-{next(_ids)}"))
    assert ToyTaskVisualizer.get_current_instance() is built
    assert Visualizer.get_current_instance() is built
    # downstream hooks import MMEngine's class: it must answer the run's visualizer as well
    assert mm_vis.Visualizer.get_current_instance() is built


def test_mmengine_visualizer_built_through_mmhooks_registry_is_current_everywhere():
    """A downstream visualizer (an MMEngine subclass, e.g. UniversalVisualizer) is built with get_instance."""
    mm_vis = pytest.importorskip("mmengine.visualization")
    mm_registry = pytest.importorskip("mmengine.registry")

    @mm_registry.VISUALIZERS.register_module(force=True)
    class DownstreamVisualizer(mm_vis.Visualizer):
        pass

    name = f"downstream-{next(_ids)}"
    built = VISUALIZERS.build(dict(type="DownstreamVisualizer", name=name))
    assert isinstance(built, DownstreamVisualizer)
    assert DownstreamVisualizer.get_current_instance() is built and mm_vis.Visualizer.get_current_instance() is built


def test_hook_asking_for_the_visualizer_in_init_gets_the_runs_one(tmp_path):
    """The pattern of mmpretrain's / mmdet's VisualizationHook, after the run's visualizer is built."""
    from types import SimpleNamespace

    from mmhooks.adapters.lightning.visualizer import build_visualizer

    class VisualizationHookDouble:
        def __init__(self):
            self._visualizer = Visualizer.get_current_instance()
            mm_vis = pytest.importorskip("mmengine.visualization")
            self._mm_visualizer = mm_vis.Visualizer.get_current_instance()

    runner = SimpleNamespace(experiment_name=f"exp-{next(_ids)}", log_dir=str(tmp_path), trainer=None, rank=0)
    visualizer = build_visualizer(runner, dict(vis_backends=[dict(type="LocalVisBackend")]))
    hook = VisualizationHookDouble()
    assert hook._visualizer is visualizer and hook._mm_visualizer is visualizer
