"""Helpers for tests of hostile input: a worker process for calls that might hang or crash (:mod:`.isolated`)."""
