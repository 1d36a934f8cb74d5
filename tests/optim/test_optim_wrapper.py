"""OptimWrapper, AmpOptimWrapper and OptimWrapperDict against MMEngine (the oracle) and closed forms."""

from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

mmengine = pytest.importorskip("mmengine")
from mmengine.logging import MessageHub  # noqa: E402
from mmengine.optim import OptimWrapper as MMOptimWrapper  # noqa: E402
from mmengine.optim import OptimWrapperDict as MMOptimWrapperDict  # noqa: E402


class RecordingHub:
    """Stands in for the runner's message hub: keeps every scalar it receives."""

    def __init__(self) -> None:
        self.scalars: list[tuple[str, float]] = []

    def update_scalar(self, key: str, value: float) -> None:
        self.scalars.append((key, value))


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))


def batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(2, 3, generator=generator), torch.randn(2, 1, generator=generator)) for _ in range(n)]


def loss_of(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return nn.functional.mse_loss(model(x), y) * 10  # large enough for the clip thresholds below


def sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)


def mm_grad_scalar(key: str) -> float:
    return float(MessageHub.get_current_instance().get_scalar(key).current())


# (accumulative_counts, clip_grad, count status (init_counts, max_counts) or None, iterations)
TRAIN_CASES = {
    "plain": (1, None, None, 5),
    "acc3-uninitialised": (3, None, None, 7),
    "acc3-last-window-of-1": (3, None, (0, 7), 7),
    "acc3-last-window-of-2": (3, None, (0, 8), 8),
    "acc4-resumed-at-4": (4, None, (4, 10), 6),
    "clip-norm2": (1, dict(max_norm=0.5), None, 4),
    "clip-norm1": (1, dict(max_norm=0.5, norm_type=1), None, 4),
    "clip-norm-inf": (1, dict(type="norm", max_norm=0.2, norm_type="inf"), None, 4),
    "clip-value": (1, dict(type="value", clip_value=0.05), None, 4),
    "acc2-clip-norm-last-window": (2, dict(max_norm=0.3), (0, 5), 5),
}


@pytest.mark.parametrize("case", list(TRAIN_CASES), ids=str)
def test_update_params_matches_mmengine_at_every_iteration(case: str) -> None:
    accumulative_counts, clip_grad, count_status, n_iters = TRAIN_CASES[case]
    ours_model, mm_model = tiny_model(), tiny_model()
    ours = OptimWrapper(sgd(ours_model), accumulative_counts=accumulative_counts, clip_grad=clip_grad)
    theirs = MMOptimWrapper(sgd(mm_model), accumulative_counts=accumulative_counts, clip_grad=copy.deepcopy(clip_grad))
    ours.message_hub = hub = RecordingHub()
    if count_status is not None:
        ours.initialize_count_status(ours_model, *count_status)
        theirs.initialize_count_status(mm_model, *count_status)
    grad_name = "grad_value" if clip_grad and clip_grad.get("type") == "value" else "grad_norm"
    for i, batch in enumerate(batches(n_iters)):
        assert ours.should_sync() == theirs.should_sync(), f"should_sync at iteration {i}"
        ours.update_params(loss_of(ours_model, batch))
        theirs.update_params(loss_of(mm_model, batch))
        assert (ours.inner_count, ours.should_update()) == (theirs.inner_count, theirs.should_update())
        for (name, ours_p), mm_p in zip(ours_model.named_parameters(), mm_model.parameters()):
            assert torch.equal(ours_p, mm_p), f"{name} differs after iteration {i}"
        if clip_grad is not None and grad_name == "grad_norm" and theirs.should_update():
            assert hub.scalars[-1] == (f"train/{grad_name}", mm_grad_scalar(f"train/{grad_name}"))
    if clip_grad is not None and accumulative_counts == 1 and grad_name == "grad_norm":
        assert len(hub.scalars) == n_iters  # one clip per optimizer step


def test_clip_by_value_reports_nothing_because_torch_returns_none() -> None:
    model = tiny_model()
    wrapper = OptimWrapper(sgd(model), clip_grad=dict(type="value", clip_value=0.01))
    wrapper.message_hub = hub = RecordingHub()
    wrapper.update_params(loss_of(model, batches(1)[0]))
    assert hub.scalars == []
    assert wrapper.grad_name == "grad_value"


def test_clip_norm_value_reaches_hub_as_the_unclipped_total_norm() -> None:
    model = tiny_model()
    wrapper = OptimWrapper(sgd(model), clip_grad=dict(max_norm=1e-3, norm_type=1))
    wrapper.message_hub = hub = RecordingHub()
    loss_of(model, batches(1)[0]).backward()
    expected = float(sum(p.grad.abs().sum() for p in model.parameters()))
    wrapper.step()
    assert hub.scalars == [("train/grad_norm", pytest.approx(expected, rel=1e-6))]
    total_after = float(sum(p.grad.abs().sum() for p in model.parameters()))
    assert total_after == pytest.approx(1e-3, rel=1e-4)


def test_clip_grad_dict_is_not_modified() -> None:
    clip_grad = dict(type="value", clip_value=0.1)
    OptimWrapper(sgd(tiny_model()), clip_grad=clip_grad)
    assert clip_grad == dict(type="value", clip_value=0.1)


def test_scale_loss_divisors_match_mmengine() -> None:
    ours = OptimWrapper(sgd(tiny_model()), accumulative_counts=4)
    theirs = MMOptimWrapper(sgd(tiny_model()), accumulative_counts=4)
    ours.initialize_count_status(nn.Linear(1, 1), 0, 10)
    theirs.initialize_count_status(nn.Linear(1, 1), 0, 10)
    one = torch.tensor(1.0)
    ours_factors, mm_factors = [], []
    for _ in range(10):
        ours_factors.append(float(ours.scale_loss(one)))
        mm_factors.append(float(theirs.scale_loss(one)))
        ours._inner_count += 1
        theirs._inner_count += 1
    assert ours_factors == mm_factors == [0.25] * 8 + [0.5, 0.5]
    assert ours.max_counts == 10


def test_backward_fn_replaces_loss_backward_and_counts() -> None:
    model = tiny_model()
    wrapper = OptimWrapper(sgd(model), accumulative_counts=2)
    calls: list[tuple[float, dict[str, Any]]] = []

    def manual_backward(loss: torch.Tensor, **kwargs: Any) -> None:
        calls.append((float(loss.detach()), kwargs))
        loss.backward(**kwargs)

    wrapper.backward_fn = manual_backward
    loss = loss_of(model, batches(1)[0])
    wrapper.update_params(loss)
    assert calls == [(pytest.approx(float(loss) / 2), {})]
    assert wrapper.inner_count == 1
    assert all(p.grad is not None for p in model.parameters())


class NoSyncModel(nn.Module):
    """Counts how often ``no_sync`` is entered, as DDP would skip the all-reduce."""

    def __init__(self) -> None:
        super().__init__()
        self.entered: list[int] = []
        self.iteration = 0

    @contextmanager
    def no_sync(self):  # type: ignore[no-untyped-def]
        self.entered.append(self.iteration)
        yield


@pytest.mark.parametrize("use_sync_model", [False, True], ids=["model-argument", "sync_model-attribute"])
def test_optim_context_skips_sync_like_mmengine(use_sync_model: bool) -> None:
    ours_target, mm_target = NoSyncModel(), NoSyncModel()
    ours = OptimWrapper(sgd(tiny_model()), accumulative_counts=3)
    theirs = MMOptimWrapper(sgd(tiny_model()), accumulative_counts=3)
    ours.initialize_count_status(ours_target, 0, 7)
    theirs.initialize_count_status(mm_target, 0, 7)
    if use_sync_model:
        ours.sync_model = ours_target
    for i in range(7):
        ours_target.iteration = mm_target.iteration = i
        with ours.optim_context(nn.Linear(1, 1) if use_sync_model else ours_target):
            pass
        with theirs.optim_context(mm_target):
            pass
        ours._inner_count += 1
        theirs._inner_count += 1
    assert ours_target.entered == mm_target.entered == [0, 1, 3, 4]


def test_initialize_count_status_warns_for_batch_norm_and_odd_resume(caplog: pytest.LogCaptureFixture) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    wrapper = OptimWrapper(sgd(model), accumulative_counts=2)
    with caplog.at_level(logging.WARNING, logger="mmhooks.optim.optimizer.optimizer_wrapper"):
        wrapper.initialize_count_status(model, 3, 10)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "resumed at iteration 3" in messages[0] and "BatchNorm" in messages[1]


def multi_group_optimizer(kind: str, model: nn.Module) -> torch.optim.Optimizer:
    first, second = list(model.children())[0], list(model.children())[2]
    groups = [{"params": first.parameters()}, {"params": second.parameters(), "lr": 0.5}]
    builders = {
        "SGD": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.8),
        "Adam": lambda params: torch.optim.Adam(params, lr=0.1, betas=(0.7, 0.99)),
        "Adagrad": lambda params: torch.optim.Adagrad(params, lr=0.1),
        "RMSprop": lambda params: torch.optim.RMSprop(params, lr=0.1, momentum=0.3),
    }
    return builders[kind](groups)


@pytest.mark.parametrize("kind", ["SGD", "Adam", "Adagrad", "RMSprop"], ids=str)
@pytest.mark.parametrize("multi_group", [False, True], ids=["one-group", "two-groups"])
def test_get_lr_get_momentum_param_groups_match_mmengine(kind: str, multi_group: bool) -> None:
    model = tiny_model()
    if multi_group:
        ours_opt, mm_opt = multi_group_optimizer(kind, model), multi_group_optimizer(kind, model)
    else:
        ours_opt = multi_group_optimizer(kind, model).__class__(model.parameters(), lr=0.1)
        mm_opt = ours_opt.__class__(model.parameters(), lr=0.1)
    ours, theirs = OptimWrapper(ours_opt), MMOptimWrapper(mm_opt)
    assert ours.get_lr() == theirs.get_lr()
    assert ours.get_momentum() == theirs.get_momentum()
    assert len(ours.param_groups) == len(theirs.param_groups) == len(ours_opt.param_groups) + int(multi_group)
    assert ours.defaults == theirs.defaults
    if multi_group:
        assert ours.param_groups[-1].keys() == theirs.param_groups[-1].keys()
        assert ours.get_lr() == {"base_lr": [0.1], "lr": [0.1, 0.5]}


def adam_two_groups(model: nn.Module) -> torch.optim.Optimizer:
    return multi_group_optimizer("Adam", model)


def train(wrapper: OptimWrapper, model: nn.Module, data: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for batch in data:
        wrapper.update_params(loss_of(model, batch))


def test_state_dict_round_trip_resumes_exactly_and_loads_into_mmengine() -> None:
    data = batches(6)
    straight_model = tiny_model()
    straight = OptimWrapper(adam_two_groups(straight_model), accumulative_counts=2)
    straight.initialize_count_status(straight_model, 0, 6)
    train(straight, straight_model, data)

    first_model = tiny_model()
    first = OptimWrapper(adam_two_groups(first_model), accumulative_counts=2)
    first.initialize_count_status(first_model, 0, 6)
    train(first, first_model, data[:4])
    state = first.state_dict()
    snapshot = copy.deepcopy(state)

    mm_model = tiny_model()
    theirs = MMOptimWrapper(adam_two_groups(mm_model), accumulative_counts=2)
    theirs.initialize_count_status(mm_model, 0, 6)
    train(theirs, mm_model, data[:4])
    mm_state = theirs.state_dict()
    assert state.keys() == mm_state.keys() == {"state", "param_groups", "base_param_settings"}
    torch.testing.assert_close(state["state"], mm_state["state"], rtol=0, atol=0)

    resumed_model = copy.deepcopy(first_model)
    resumed = OptimWrapper(adam_two_groups(resumed_model), accumulative_counts=2)
    resumed.load_state_dict(state)
    resumed.initialize_count_status(resumed_model, 4, 6)
    train(resumed, resumed_model, data[4:])
    for ours_p, straight_p in zip(resumed_model.parameters(), straight_model.parameters()):
        assert torch.equal(ours_p, straight_p)
    assert state.keys() == snapshot.keys() and "base_param_settings" in state  # argument left unchanged

    theirs_again = MMOptimWrapper(adam_two_groups(tiny_model()))
    theirs_again.load_state_dict(copy.deepcopy(state))
    assert theirs_again.optimizer.state_dict()["param_groups"] == first.optimizer.state_dict()["param_groups"]


def two_wrappers(cls: type, wrapper_cls: type) -> Any:
    gen, disc = tiny_model(0), tiny_model(1)
    return cls(
        gen=wrapper_cls(torch.optim.SGD(gen.parameters(), lr=0.1, momentum=0.5)),
        disc=wrapper_cls(adam_two_groups(disc)),
    )


def test_optim_wrapper_dict_reports_like_mmengine() -> None:
    ours = two_wrappers(OptimWrapperDict, OptimWrapper)
    theirs = two_wrappers(MMOptimWrapperDict, MMOptimWrapper)
    assert ours.get_lr() == theirs.get_lr() == {"gen.lr": [0.1], "disc.base_lr": [0.1], "disc.lr": [0.1, 0.5]}
    assert ours.get_momentum() == theirs.get_momentum()
    assert list(ours.param_groups) == list(theirs.param_groups) == ["gen", "disc"]
    assert [len(g) for g in ours.param_groups.values()] == [len(g) for g in theirs.param_groups.values()]
    ours_state, mm_state = ours.state_dict(), theirs.state_dict()
    assert {k: sorted(v) for k, v in ours_state.items()} == {k: sorted(v) for k, v in mm_state.items()}
    ours.load_state_dict(ours_state)
    assert list(ours.keys()) == ["gen", "disc"] and "gen" in ours and len(ours) == 2


def test_optim_wrapper_dict_refuses_update_calls_and_forwards_settings() -> None:
    wrappers = two_wrappers(OptimWrapperDict, OptimWrapper)
    with pytest.raises(NotImplementedError, match="call update_params on each"):
        wrappers.update_params(torch.tensor(1.0))
    hub = RecordingHub()
    wrappers.message_hub = hub
    assert [w.message_hub for w in wrappers.values()] == [hub, hub]
    with pytest.raises(KeyError, match=r"no optimizer wrapper named 'critic'; have \['disc', 'gen'\]"):
        wrappers["critic"]


def test_optim_wrapper_dict_rejects_a_non_wrapper() -> None:
    with pytest.raises(ConfigError, match=r"^OptimWrapperDict\.gen: got 1; expected an OptimWrapper instance"):
        OptimWrapperDict(gen=1)  # type: ignore[arg-type]


def test_direct_call_error_message_in_full() -> None:
    with pytest.raises(ConfigError) as info:
        OptimWrapper(sgd(tiny_model()), accumulative_counts=0)
    assert str(info.value) == (
        "OptimWrapper.accumulative_counts: got 0; expected an int >= 1. Fix: set accumulative_counts=1 to step "
        "every iteration, or to the number of iterations per step."
    )


@pytest.mark.parametrize(
    ("clip_grad", "where"),
    [
        (dict(type="max", max_norm=1), "OptimWrapper.clip_grad.type: got 'max'"),
        (dict(type="norm"), "OptimWrapper.clip_grad.max_norm: got None"),
        (dict(max_norm=1, clip_value=2), "OptimWrapper.clip_grad.clip_value: got 2"),
        ({}, "OptimWrapper.clip_grad: got {}"),
    ],
    ids=["bad-type", "missing-max_norm", "value-key-for-norm", "empty"],
)
def test_bad_clip_grad_names_the_key(clip_grad: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as info:
        OptimWrapper(sgd(tiny_model()), clip_grad=clip_grad)
    assert str(info.value).startswith(where)


# ------------------------------------------------------------------ AmpOptimWrapper (CPU: closed forms)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize(
    ("dtype", "precision"),
    [
        ("float16", "16-mixed"),
        ("bfloat16", "bf16-mixed"),
        (torch.bfloat16, "bf16-mixed"),
        (None, "bf16-mixed" if DEVICE == "cpu" else "16-mixed"),
        ("float32", "32-true"),
    ],
    ids=["float16", "bfloat16", "torch.bfloat16", "default", "float32"],
)
def test_amp_precision_maps_to_lightning(dtype: Any, precision: str) -> None:
    assert AmpOptimWrapper(dtype=dtype, optimizer=sgd(tiny_model())).precision == precision


def test_amp_fixed_scale_gives_the_fp32_result_and_keeps_the_scale() -> None:
    data = batches(4)
    plain_model, amp_model = tiny_model(), tiny_model()
    plain = OptimWrapper(sgd(plain_model), clip_grad=dict(max_norm=0.5))
    amp = AmpOptimWrapper(loss_scale=1024.0, optimizer=sgd(amp_model), clip_grad=dict(max_norm=0.5))
    plain.message_hub, amp.message_hub = RecordingHub(), RecordingHub()
    train(plain, plain_model, data)
    train(amp, amp_model, data)  # no optim_context: full precision, only the scaler acts
    for plain_p, amp_p in zip(plain_model.parameters(), amp_model.parameters()):
        torch.testing.assert_close(amp_p, plain_p, rtol=0, atol=1e-7)
    assert [v for _, v in amp.message_hub.scalars] == pytest.approx([v for _, v in plain.message_hub.scalars])
    amp.update_params(loss_of(amp_model, data[0]) * float("inf"))  # skipped step: a fixed scale stays put
    assert amp.state_dict()["loss_scaler"]["scale"] == 1024.0


def test_amp_dynamic_scale_skips_an_inf_step_and_halves_the_scale() -> None:
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    amp = AmpOptimWrapper(loss_scale=dict(init_scale=256.0), optimizer=sgd(model))
    amp.update_params(loss_of(model, batches(1)[0]) * float("inf"))
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert amp.loss_scaler.get_scale() == 128.0


def test_amp_optim_context_autocasts_unless_the_backend_owns_precision() -> None:
    amp = AmpOptimWrapper(dtype="bfloat16", optimizer=sgd(tiny_model()))
    with amp.optim_context(nn.Linear(1, 1)):
        inside = (torch.is_autocast_enabled(DEVICE), torch.get_autocast_dtype(DEVICE))
    amp.use_backend_precision = True
    with amp.optim_context(nn.Linear(1, 1)):
        passthrough = torch.is_autocast_enabled(DEVICE)
    assert inside == (True, torch.bfloat16)
    assert passthrough is False


def test_amp_passthrough_hands_the_plain_loss_to_the_backend() -> None:
    model = tiny_model()
    amp = AmpOptimWrapper(loss_scale=512.0, optimizer=sgd(model))
    amp.use_backend_precision = True
    seen: list[float] = []

    def manual_backward(loss: torch.Tensor) -> None:
        seen.append(float(loss.detach()))
        loss.backward()

    amp.backward_fn = manual_backward
    loss = loss_of(model, batches(1)[0])
    amp.update_params(loss)
    assert seen == [pytest.approx(float(loss))]
    assert amp.loss_scaler.get_scale() == 512.0  # the wrapper's own scaler was not used


def test_amp_state_dict_round_trip() -> None:
    model = tiny_model()
    amp = AmpOptimWrapper(loss_scale=dict(init_scale=64.0, growth_interval=1), optimizer=sgd(model))
    train(amp, model, batches(2))
    state = amp.state_dict()
    fresh = AmpOptimWrapper(optimizer=sgd(copy.deepcopy(model)))
    fresh.load_state_dict(state)
    assert fresh.loss_scaler.get_scale() == amp.loss_scaler.get_scale() == 256.0
    assert "loss_scaler" in state  # argument left unchanged


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(loss_scale="static"), "AmpOptimWrapper.loss_scale: got 'static'; expected 'dynamic', a number or a "
         "dict of GradScaler arguments. Fix: use loss_scale='dynamic' or a fixed scale such as 512.0."),
        (dict(dtype="fp16"), "AmpOptimWrapper.dtype: got 'fp16'; expected None, a torch.dtype or one of "
         "['bfloat16', 'float16', 'float32', 'float64']. Fix: use dtype='float16' or dtype='bfloat16'."),
    ],
    ids=["loss_scale", "dtype"],
)
def test_amp_bad_arguments_in_full(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        AmpOptimWrapper(optimizer=sgd(tiny_model()), **kwargs)
    assert str(info.value) == message


@pytest.mark.skipif(not torch.cuda.is_available(), reason="MMEngine's AmpOptimWrapper needs CUDA")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"], ids=str)
def test_amp_matches_mmengine_on_cuda(dtype: str) -> None:
    from mmengine.optim import AmpOptimWrapper as MMAmpOptimWrapper

    ours_model, mm_model = tiny_model().cuda(), tiny_model().cuda()
    ours = AmpOptimWrapper(dtype=dtype, optimizer=sgd(ours_model), accumulative_counts=2,
                           clip_grad=dict(max_norm=0.5))
    theirs = MMAmpOptimWrapper(dtype=dtype, optimizer=sgd(mm_model), accumulative_counts=2,
                               clip_grad=dict(max_norm=0.5))
    for wrapper, model in ((ours, ours_model), (theirs, mm_model)):
        wrapper.initialize_count_status(model, 0, 5)
    for batch in batches(5):
        batch = tuple(t.cuda() for t in batch)
        with ours.optim_context(ours_model):
            ours_loss = loss_of(ours_model, batch)
        with theirs.optim_context(mm_model):
            mm_loss = loss_of(mm_model, batch)
        ours.update_params(ours_loss)
        theirs.update_params(mm_loss)
        for ours_p, mm_p in zip(ours_model.parameters(), mm_model.parameters()):
            assert torch.equal(ours_p, mm_p)
    assert ours.state_dict()["loss_scaler"] == theirs.state_dict()["loss_scaler"]
