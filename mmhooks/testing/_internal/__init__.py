"""``MultiProcessTestCase``: run each test method in ``world_size`` spawned processes (``mmengine.testing._internal``).

MMEngine's distributed unit tests subclass it: ``setUp`` calls
``self._spawn_processes()``, each child gets ``self.rank`` and runs the test
method (usually initialising a gloo group itself), and the parent's test
fails when a child's test fails, with the child's traceback. A child killed
by a signal (an abort in the communication library) skips the test, as in
MMEngine's harness; unlike it, a test whose children all pass is reported as
passed.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import time
import traceback
import types
import unittest
from typing import Any

import torch.multiprocessing as mp

__all__ = ["MultiProcessTestCase"]

_SKIP_EXIT_CODE = 75  # a child raised unittest.SkipTest



def _leave_process_group() -> None:
    """Destroy the default process group a test left behind, before the child exits.

    A gloo group still alive at interpreter exit can abort the process
    ("terminate called without an active exception") after the test passed,
    which the parent would report as an aborted, skipped test.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

class MultiProcessTestCase(unittest.TestCase):
    """A test case whose test methods run in ``world_size`` processes (ranks 0..n-1); the parent only waits."""

    MAIN_PROCESS_RANK = -1
    TEST_ERROR_EXIT_CODE = 10

    @property
    def world_size(self) -> int:
        return 2

    @property
    def timeout(self) -> int:
        """Seconds the parent waits for its children."""
        return 1000

    def prepare_subprocess(self) -> None:
        """Runs in each child before the test method (register classes, set up state)."""

    def __init__(self, method_name: str = "runTest", methodName: str = "runTest") -> None:  # noqa: N803
        if methodName != "runTest":
            method_name = methodName
        super().__init__(method_name)
        self.rank = self.MAIN_PROCESS_RANK
        self.file_name: str | None = None
        self.processes: list[Any] = []
        test = getattr(self, method_name, None)
        if test is not None:
            setattr(self, method_name, self._join_or_run(test))

    def _join_or_run(self, test: Any) -> Any:
        @functools.wraps(test)
        def wrapper(self: MultiProcessTestCase) -> None:
            if self.rank == self.MAIN_PROCESS_RANK:
                self._join_processes()
            else:
                test()

        return types.MethodType(wrapper, self)

    def setUp(self) -> None:
        super().setUp()
        self.processes = []
        self.rank = self.MAIN_PROCESS_RANK
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            self.file_name = handle.name
        self._pipes: dict[int, Any] = {}

    def tearDown(self) -> None:
        super().tearDown()
        for process in self.processes:
            process.terminate()
        self.processes = []

    def _spawn_processes(self) -> None:
        context = mp.get_context("spawn")
        for rank in range(int(self.world_size)):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=type(self)._run, name=f"process {rank}",
                                      args=(rank, self._testMethodName, self.file_name, sender))
            process.start()
            self._pipes[rank] = receiver
            self.processes.append(process)

    @classmethod
    def _run(cls, rank: int, test_name: str, file_name: str | None, pipe: Any) -> None:
        case = cls(test_name)
        try:
            case.prepare_subprocess()
        except BaseException:
            pipe.send(traceback.format_exc())
            sys.exit(cls.TEST_ERROR_EXIT_CODE)
        case.rank, case.file_name = rank, file_name
        case.run_test(test_name, pipe)

    def run_test(self, test_name: str, parent_pipe: Any) -> None:
        """Run the test method in this child; a failure or skip goes back to the parent through ``parent_pipe``.

        Subclasses override it to prepare per-process state, then call ``super().run_test``.
        """
        try:
            getattr(self, test_name)()
        except unittest.SkipTest as skip:
            parent_pipe.send(f"skipped: {skip}")
            sys.exit(_SKIP_EXIT_CODE)
        except BaseException:
            parent_pipe.send(traceback.format_exc())
            sys.exit(self.TEST_ERROR_EXIT_CODE)
        finally:
            parent_pipe.close()
            _leave_process_group()

    def _join_processes(self) -> None:
        deadline = time.monotonic() + self.timeout
        while any(p.exitcode is None for p in self.processes):
            if any(p.exitcode not in (None, 0) for p in self.processes) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for process in self.processes:
            if process.exitcode is None:
                process.terminate()
                process.join()
        messages, aborted = [], []
        for rank, process in enumerate(self.processes):
            pipe = self._pipes.get(rank)
            message = ""
            if pipe is not None and pipe.poll(1):
                try:
                    message = pipe.recv()
                except (EOFError, OSError):  # the child closed its end without a message: it passed
                    message = ""
            if process.exitcode == _SKIP_EXIT_CODE:
                raise unittest.SkipTest(message)
            if process.exitcode == self.TEST_ERROR_EXIT_CODE:
                messages.append(f"process {rank} exited with {process.exitcode}:\n{message}")
            elif process.exitcode != 0:
                aborted.append(rank)
        if messages:
            self.fail("\n".join(messages))
        if aborted:  # killed by a signal, not by the test: MMEngine's harness skips these too
            self.skipTest(f"Skip test {self._testMethodName} due to the program abort (processes {aborted})")
