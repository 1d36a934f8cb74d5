"""Kill a real training process with SIGKILL, resume it, and get bit-identical results (on each backend, and a run
killed on the Trainer resumed on Fabric)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'

JOB = os.path.join(os.path.dirname(__file__), "..", "support", "resume_job.py")
ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}


def run_job(work_dir, trace, *extra):
    return subprocess.run([sys.executable, JOB, str(work_dir), str(trace), *extra], capture_output=True, text=True,
                          timeout=240, env=ENV)


def read_trace(path):
    """iteration -> (lr, momentum, first sample), keeping the last record of an iteration run twice."""
    records = {}
    for line in open(path).read().splitlines():
        it, lr, momentum, first = line.split()
        records[int(it)] = (float(lr), float(momentum), int(first))
    return records


def final_state(work_dir):
    checkpoint = torch.load(os.path.join(work_dir, "iter_18.pth"), weights_only=False)
    return checkpoint


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """backend -> (trace, final checkpoint, files) of an uninterrupted run on it (run once per backend)."""
    runs = {}

    def get(backend):
        if backend not in runs:
            root = tmp_path_factory.mktemp(f"straight_{backend}")
            result = run_job(root / "work", root / "trace.txt", "--backend", backend)
            assert result.returncode == 0, result.stderr[-3000:]
            runs[backend] = (read_trace(root / "trace.txt"), final_state(root / "work"),
                             sorted(os.listdir(root / "work")))
        return runs[backend]

    return get


KILLS = {
    "mid-epoch-after-iter-4-checkpoint": ["--kill-at-iter", "5"],
    "mid-epoch-2nd-epoch": ["--kill-at-iter", "10"],
    "right-after-epoch-boundary-checkpoint": ["--kill-at-iter", "13"],
    "during-validation": ["--kill-in-val", "2"],
}


# (backend of the killed run, backend that resumes it)
BACKEND_PAIRS = {"lightning": ("lightning", "lightning"), "fabric": ("fabric", "fabric"),
                 "lightning-then-fabric": ("lightning", "fabric")}
CASES = [(kill, pair) for pair in BACKEND_PAIRS for kill in KILLS
         if pair != "lightning-then-fabric" or kill in ("mid-epoch-2nd-epoch", "during-validation")]


@pytest.mark.parametrize("kill, pair", CASES, ids=[f"{pair}-{kill}" for kill, pair in CASES])
def test_resume_after_sigkill_is_bit_identical(kill, pair, straight, tmp_path):
    killed_on, resumed_on = BACKEND_PAIRS[pair]
    trace_ref, final_ref, files_ref = straight(resumed_on)
    killed = run_job(tmp_path / "work", tmp_path / "trace.txt", *KILLS[kill], "--backend", killed_on)
    assert killed.returncode == -9, killed.stderr[-2000:]
    for name in os.listdir(tmp_path / "work"):
        if name.endswith(".pth"):
            torch.load(tmp_path / "work" / name, weights_only=False)  # every visible checkpoint is complete
    resumed_from = os.path.basename(open(tmp_path / "work" / "last_checkpoint").read())
    resumed = run_job(tmp_path / "work", tmp_path / "trace.txt", "--resume", "--backend", resumed_on)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    assert read_trace(tmp_path / "trace.txt") == trace_ref
    final = final_state(tmp_path / "work")
    for key in ("state_dict", "ema_state_dict"):
        for name, tensor in final_ref[key].items():
            assert torch.equal(final[key][name], tensor), f"{key}.{name}"
    ref_opt, opt = final_ref["optimizer"]["state"], final["optimizer"]["state"]
    for index in ref_opt:
        assert torch.equal(opt[index]["momentum_buffer"], ref_opt[index]["momentum_buffer"])
    assert final["param_schedulers"] == final_ref["param_schedulers"]
    assert (final["meta"]["epoch"], final["meta"]["iter"]) == (final_ref["meta"]["epoch"], final_ref["meta"]["iter"])
    # max_keep_ckpts rotates the file a run resumed from out in its turn, as MMEngine does (keep_ckpt_ids in
    # the message hub): the resumed run ends with exactly the straight run's checkpoints.
    assert resumed_from.endswith(".pth")
    expected_files = {f for f in files_ref if f.endswith(".pth")}
    assert {f for f in os.listdir(tmp_path / "work") if f.endswith(".pth")} == expected_files


def test_both_backends_train_the_job_bit_identically(straight):
    """The Trainer and Fabric run the same arithmetic: same trace, weights, EMA, optimizer and scheduler states."""
    (trace_l, final_l, files_l), (trace_f, final_f, files_f) = straight("lightning"), straight("fabric")
    assert trace_f == trace_l
    assert [f for f in files_f if f.endswith(".pth")] == [f for f in files_l if f.endswith(".pth")]
    for key in ("state_dict", "ema_state_dict"):
        assert list(final_f[key]) == list(final_l[key])
        for name, tensor in final_l[key].items():
            assert torch.equal(final_f[key][name], tensor), f"{key}.{name}"
    for index, state in final_l["optimizer"]["state"].items():
        assert torch.equal(final_f["optimizer"]["state"][index]["momentum_buffer"], state["momentum_buffer"])
    assert final_f["param_schedulers"] == final_l["param_schedulers"]
    assert final_f["message_hub"]["runtime_info"]["best_score"] == final_l["message_hub"]["runtime_info"]["best_score"]
