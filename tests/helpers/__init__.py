"""Shared fakes and builders for the test suite."""
