"""Execution backends for mmhooks (installed as ``mmhooks.adapters``)."""
