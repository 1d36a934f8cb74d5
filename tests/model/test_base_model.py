"""BaseModel against MMEngine's: parse_losses, train_step updates, val/test steps and device tracking."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.model import BaseDataPreprocessor, BaseModel, is_model_wrapper
from mmhooks.registry import MODEL_WRAPPERS

mmengine = pytest.importorskip("mmengine")
from mmengine.model import BaseModel as MMBaseModel  # noqa: E402
from mmengine.optim import OptimWrapper as MMOptimWrapper  # noqa: E402


class FakeOptimWrapper:
    """The two methods train_step needs, on a plain torch optimizer."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.contexts_entered = 0

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        self.contexts_entered += 1
        yield

    def update_params(self, loss: torch.Tensor) -> None:
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()


def _forward(model: Any, inputs: torch.Tensor, data_samples: Any, mode: str) -> Any:
    out = model.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
    if mode == "loss":
        target = torch.stack(data_samples) if isinstance(data_samples, list) else data_samples
        return {"loss_mse": (out - target).pow(2), "loss_aux": [out.abs(), out.pow(2)], "acc": out.detach()}
    if mode == "predict":
        return list(out)
    return out


class OurToy(BaseModel):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs: Any, data_samples: Any = None, mode: str = "tensor") -> Any:
        return _forward(self, inputs, data_samples, mode)


class MMToy(MMBaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs: Any, data_samples: Any = None, mode: str = "tensor") -> Any:
        return _forward(self, inputs, data_samples, mode)


LOSS_DICTS = {
    "tensors": {"loss_a": torch.tensor([1.0, 2.0]), "loss_b": torch.tensor(4.0)},
    "with_acc": {"acc_top1": torch.tensor([0.5, 1.0]), "loss_cls": torch.tensor([[1.0, 3.0]]), "x_loss": torch.ones(2)},
    "list": {"loss_parts": [torch.tensor([1.0, 3.0]), torch.tensor(5.0)], "top": torch.tensor(2.0)},
    "no_loss_key": {"acc": torch.tensor(0.25)},
}


@pytest.mark.parametrize("losses", LOSS_DICTS.values(), ids=LOSS_DICTS.keys())
def test_parse_losses_matches_mmengine(losses: dict[str, Any]) -> None:
    loss, log_vars = OurToy().parse_losses(losses)
    mm_loss, mm_log_vars = MMToy().parse_losses(losses)
    assert list(log_vars) == list(mm_log_vars)
    torch.testing.assert_close(torch.as_tensor(loss), torch.as_tensor(mm_loss), rtol=0, atol=0)
    for key in mm_log_vars:
        torch.testing.assert_close(torch.as_tensor(log_vars[key]), torch.as_tensor(mm_log_vars[key]), rtol=0, atol=0)


def test_parse_losses_rejects_non_tensor_like_mmengine() -> None:
    with pytest.raises(TypeError) as ours:
        OurToy().parse_losses({"loss_a": 1.0})
    with pytest.raises(TypeError) as theirs:
        MMToy().parse_losses({"loss_a": 1.0})
    assert str(ours.value) == str(theirs.value) == "loss_a is not a tensor or list of tensors"


def _batches() -> list[dict[str, Any]]:
    generator = torch.Generator().manual_seed(0)
    return [
        {"inputs": [torch.randn(3, generator=generator) for _ in range(4)],
         "data_samples": [torch.randn(1, generator=generator) for _ in range(4)]}
        for _ in range(3)
    ]


def test_train_step_matches_mmengine_for_three_sgd_steps() -> None:
    torch.manual_seed(0)
    ours = OurToy()
    theirs = MMToy()
    theirs.load_state_dict(ours.state_dict())
    our_wrapper = FakeOptimWrapper(torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9))
    mm_wrapper = MMOptimWrapper(torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9))
    for batch in _batches():
        log_vars = ours.train_step(copy.deepcopy(batch), our_wrapper)
        mm_log_vars = theirs.train_step(copy.deepcopy(batch), mm_wrapper)
        assert list(log_vars) == list(mm_log_vars) == ["loss", "loss_mse", "loss_aux", "acc"]
        torch.testing.assert_close(log_vars["loss"], mm_log_vars["loss"], rtol=0, atol=0)
        for name, param in theirs.state_dict().items():
            torch.testing.assert_close(ours.state_dict()[name], param, rtol=0, atol=0)
    assert our_wrapper.contexts_entered == 3


@pytest.mark.parametrize("step", ["val_step", "test_step"], ids=["val", "test"])
def test_val_and_test_step_return_predictions_like_mmengine(step: str) -> None:
    ours = OurToy()
    theirs = MMToy()
    theirs.load_state_dict(ours.state_dict())
    batch = _batches()[0]
    predictions = getattr(ours, step)(batch)
    expected = getattr(theirs, step)(batch)
    assert isinstance(predictions, list)
    torch.testing.assert_close(predictions, expected, rtol=0, atol=0)


def test_run_forward_unpacks_tuples_positionally() -> None:
    model = OurToy()
    inputs = torch.ones(2, 3)
    torch.testing.assert_close(model._run_forward((inputs,), mode="tensor"), model.linear(inputs))


def test_run_forward_rejects_other_types() -> None:
    with pytest.raises(TypeError, match=r"^OurToy.data_preprocessor: returned Tensor; expected a dict, list or tuple"):
        OurToy()._run_forward(torch.ones(2, 3), mode="tensor")


def test_data_preprocessor_default_dict_and_module() -> None:
    assert type(OurToy().data_preprocessor) is BaseDataPreprocessor
    built = OurToy(data_preprocessor=dict(type="ImgDataPreprocessor", mean=[1.0], std=[2.0]))
    assert type(built.data_preprocessor).__name__ == "ImgDataPreprocessor"
    module = BaseDataPreprocessor(non_blocking=True)
    assert OurToy(data_preprocessor=module).data_preprocessor is module


def test_data_preprocessor_of_wrong_type_raises() -> None:
    with pytest.raises(TypeError) as err:
        OurToy(data_preprocessor="BaseDataPreprocessor")
    assert str(err.value) == (
        "OurToy.data_preprocessor: got str; expected a dict or an nn.Module. Fix: pass "
        "dict(type='BaseDataPreprocessor') or a preprocessor instance."
    )


def test_unknown_data_preprocessor_type_is_located() -> None:
    with pytest.raises(ValueError, match=r"^data_preprocessor.type: got 'ImgDataPreprocesor'.*did you mean "
                                         r"'ImgDataPreprocessor'\?"):
        OurToy(data_preprocessor=dict(type="ImgDataPreprocesor"))


@pytest.mark.parametrize("move", ["to_meta", "to_kw", "cpu"], ids=["to(device)", "to(device=)", "cpu()"])
def test_moving_the_model_moves_the_preprocessor_device(move: str) -> None:
    model = OurToy()
    model.data_preprocessor._device = torch.device("meta") if move == "cpu" else torch.device("cpu")
    if move == "to_meta":
        model.to("meta")
        expected = torch.device("meta")
    elif move == "to_kw":
        model.to(device="meta", dtype=torch.float64)
        expected = torch.device("meta")
    else:
        model.cpu()
        expected = torch.device("cpu")
    assert model.data_preprocessor.device == expected


def test_to_dtype_only_keeps_the_preprocessor_device() -> None:
    model = OurToy()
    model.to(torch.float64)
    assert model.data_preprocessor.device == torch.device("cpu")
    assert model.linear.weight.dtype == torch.float64


class Child(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def init_weights(self) -> None:
        self.calls += 1


def test_init_weights_calls_children_once() -> None:
    model = OurToy()
    model.child = Child()
    model.wrapped = nn.DataParallel(Child())
    model.init_weights()
    assert (model.child.calls, model.wrapped.module.calls, model.is_init) == (1, 1, True)


def test_init_cfg_is_applied_like_mmengine() -> None:
    """BaseModel is a BaseModule: its init_cfg sets the weights exactly as MMEngine's BaseModel does."""

    class MMToyWithInit(MMBaseModel):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.linear = nn.Linear(3, 1)

        def forward(self, inputs: Any, data_samples: Any = None, mode: str = "tensor") -> Any:
            return _forward(self, inputs, data_samples, mode)

    from mmhooks.model import BaseModule

    cfg = dict(type="Normal", std=0.01, bias=0.5, layer="Linear")
    models = []
    for cls in (OurToy, MMToyWithInit):
        torch.manual_seed(0)
        model = cls(init_cfg=cfg)
        torch.manual_seed(1)
        model.init_weights()
        models.append(model)
    assert isinstance(models[0], BaseModule)
    assert models[0].linear.bias.item() == models[1].linear.bias.item() == 0.5
    torch.testing.assert_close(models[0].linear.weight, models[1].linear.weight, rtol=0, atol=0)


class CustomWrapper(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


def test_is_model_wrapper() -> None:
    linear = nn.Linear(1, 1)
    assert is_model_wrapper(nn.DataParallel(linear))
    assert not is_model_wrapper(linear)
    assert not is_model_wrapper(CustomWrapper(linear))
    MODEL_WRAPPERS.register_module(module=CustomWrapper, force=True)
    try:
        assert is_model_wrapper(CustomWrapper(linear))
    finally:
        MODEL_WRAPPERS.module_dict.pop("CustomWrapper")
