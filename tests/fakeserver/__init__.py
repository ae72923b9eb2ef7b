"""A scripted, fault-injecting OpenAI-compatible teacher server for tests and benchmarks."""

from fakeserver.server import FakeServer, answer_for

__all__ = ["FakeServer", "answer_for"]
