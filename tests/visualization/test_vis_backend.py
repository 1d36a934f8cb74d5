"""LocalVisBackend files and TensorboardVisBackend events against MMEngine's backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")

from mmhooks.registry import VISBACKENDS  # noqa: E402
from mmhooks.visualization import LocalVisBackend, TensorboardVisBackend  # noqa: E402

RECORDS = [
    ({"lr": np.float64(0.01), "data_time": np.float64(0.0013), "n": np.int64(4), "epoch": 1, "iter": 2}, 2, "ts.json"),
    ({"toy/acc": np.float32(0.25), "arr": np.array([1.5]), "flag": True}, 1, "ts.json"),
    ({"step": 7, "loss": 1.0}, 3, None),
]


def _write_local(backend) -> None:
    for scalars, step, file_path in RECORDS:
        backend.add_scalars(scalars, step=step, file_path=file_path)
    backend.add_scalar("single", torch.tensor(2.5), step=4)
    backend.add_scalar("plain", 3, step=5)


def test_local_scalars_files_match_mmengine(tmp_path):
    from mmengine.visualization import LocalVisBackend as MMLocal

    _write_local(LocalVisBackend(str(tmp_path / "ours")))
    _write_local(MMLocal(str(tmp_path / "theirs")))
    for name in ("scalars.json", "ts.json"):
        ours = (tmp_path / "ours" / name).read_text()
        assert ours == (tmp_path / "theirs" / name).read_text()
    first = (tmp_path / "ours" / "scalars.json").read_text().splitlines()[0]
    assert first == '{"lr": 0.01, "data_time": 0.0013, "n": 4, "epoch": 1, "iter": 2, "step": 2}'


def test_local_directory_is_created_on_first_write_only(tmp_path):
    backend = LocalVisBackend(str(tmp_path / "vis_data"))
    assert not (tmp_path / "vis_data").exists()
    backend.add_scalars({"a": 1.0}, step=1)
    assert (tmp_path / "vis_data" / "scalars.json").read_text() == '{"a": 1.0, "step": 1}\n'


def test_local_config_uses_config_dump(tmp_path):
    class FakeConfig:
        def dump(self, path: str) -> None:
            Path(path).write_text("model = dict(type='Toy')\n")

    backend = LocalVisBackend(str(tmp_path))
    backend.add_config(FakeConfig())
    assert (tmp_path / "config.py").read_text() == "model = dict(type='Toy')\n"
    backend.add_config({"lr": 0.1, "name": "toy"})
    assert (tmp_path / "config.py").read_text() == "lr = 0.1\nname = 'toy'\n"


def test_local_image_is_a_png_that_opencv_reads_back(tmp_path):
    cv2 = pytest.importorskip("cv2")
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    LocalVisBackend(str(tmp_path)).add_image("sample", image, step=3)
    read = cv2.imread(str(tmp_path / "vis_image" / "sample_3.png"))
    np.testing.assert_array_equal(read[:, :, ::-1], image)  # OpenCV reads BGR


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(config_save_file="config.txt"), "LocalVisBackend.config_save_file: got 'config.txt'"),
        (dict(scalar_save_file="scalars.csv"), "LocalVisBackend.scalar_save_file: got 'scalars.csv'"),
    ],
    ids=["config", "scalars"],
)
def test_local_file_names_are_checked(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LocalVisBackend(str(tmp_path), **kwargs)


def test_local_rejects_extra_file_equal_to_scalars_file(tmp_path):
    with pytest.raises(ValueError, match="expected a name other than the scalar_save_file"):
        LocalVisBackend(str(tmp_path)).add_scalars({"a": 1.0}, file_path="scalars.json")


def _events(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return {
        tag: [(event.step, round(event.value, 6)) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def _write_tensorboard(backend) -> None:
    backend.add_scalars({"lr": np.float64(0.01), "loss": 2.5, "iter": np.int64(1)}, step=1, file_path="ts.json")
    backend.add_scalars({"lr": 0.005, "loss": torch.tensor(1.25), "iter": 2}, step=2)
    backend.add_scalar("val/acc", np.array(0.75), step=1)
    backend.close()


def test_tensorboard_events_match_mmengine(tmp_path):
    from mmengine.visualization import TensorboardVisBackend as MMTensorboard

    _write_tensorboard(TensorboardVisBackend(str(tmp_path / "ours")))
    _write_tensorboard(MMTensorboard(str(tmp_path / "theirs")))
    ours, theirs = _events(tmp_path / "ours"), _events(tmp_path / "theirs")
    assert ours == theirs
    assert ours["loss"] == [(1, 2.5), (2, 1.25)]
    assert ours["val/acc"] == [(1, 0.75)]


def test_tensorboard_readable_with_tbparse(tmp_path):
    tbparse = pytest.importorskip("tbparse")
    _write_tensorboard(TensorboardVisBackend(str(tmp_path)))
    frame = tbparse.SummaryReader(str(tmp_path)).scalars
    assert sorted(frame["tag"].unique()) == ["iter", "loss", "lr", "val/acc"]
    assert frame[frame["tag"] == "lr"]["step"].tolist() == [1, 2]


def test_tensorboard_rejects_step_key_and_skips_non_numbers(tmp_path):
    backend = TensorboardVisBackend(str(tmp_path))
    with pytest.raises(ValueError, match="got a 'step' key in scalar_dict"):
        backend.add_scalars({"step": 1, "loss": 1.0})
    with pytest.warns(UserWarning, match=r"add_scalar\('name'\): got str"):
        backend.add_scalar("name", "text")
    backend.close()


def test_backends_are_registered():
    assert isinstance(VISBACKENDS.build(dict(type="LocalVisBackend", save_dir="unused")), LocalVisBackend)
    assert VISBACKENDS.get("TensorboardVisBackend") is TensorboardVisBackend
