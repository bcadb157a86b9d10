"""Fixtures for the executor tests: one small local Ray for the whole test session."""

import logging

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """A 2-CPU local Ray with a small object store, started once; skips where Ray is absent."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()
