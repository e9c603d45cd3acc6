"""pytest-meterd: a fixture that runs meterd for a test (see pytest_meterd.plugin)."""

from pytest_meterd.plugin import Admin, AdminError, Meterd, start

__all__ = ["Admin", "AdminError", "Meterd", "start"]
