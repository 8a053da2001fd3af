"""Moved: instance lifecycle is the platform's (:mod:`localknative.instances`), the
project's places are :mod:`localknative.paths`. These names stay importable for test
modules outside the move (``tests/knative/``, ``tests/localknative/test_jobs.py``);
delete this file once they import from ``localknative``."""

from localknative.instances import READINESS_PATH
from localknative.paths import REPO, WORKSPACE

__all__ = ["READINESS_PATH", "REPO", "WORKSPACE"]
