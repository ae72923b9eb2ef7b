"""A scripted, fault-injecting OpenAI-compatible teacher server for tests and benchmarks."""

from fakeserver.server import REWARD_ATTRIBUTES, FakeServer, answer_for, reward_for

__all__ = ["REWARD_ATTRIBUTES", "FakeServer", "answer_for", "reward_for"]
