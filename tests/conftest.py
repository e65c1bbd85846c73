"""Shared fixtures: the real servers in ``tests/servers`` (each module lists its fixtures in ``__all__``)."""

from servers.arm_server import *  # noqa: F401,F403
from servers.azurite import *  # noqa: F401,F403
from servers.http_server import *  # noqa: F401,F403
from servers.fault_proxy import *  # noqa: F401,F403
