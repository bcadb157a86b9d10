"""Fixtures for the executor tests: one small local Ray per test module that asks for it."""

import logging

import pytest


@pytest.fixture(scope="module")
def ray_session():
    """A 2-CPU local Ray with a small object store, started for the module and stopped after its
    last test (~3 s each way; no idle Ray workers during the rest of the suite); skips without
    Ray. Module, not session, scope: pytest's package scope is the session here (no
    __init__.py)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()
