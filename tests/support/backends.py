"""The execution backends every parity, resume, DDP and bad-input test runs against.

A test module imports :func:`backend` (``from backends import backend``) and
takes ``backend`` as an argument to run once per backend.
"""

import pytest

BACKENDS = ("lightning", "fabric")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``'lightning'`` (the Trainer) or ``'fabric'``: the value of ``Runner(backend=...)``."""
    return str(request.param)
