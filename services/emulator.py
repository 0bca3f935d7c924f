"""Deprecated: the emulator is the top-level package `emulator` now; import it from there.

`from services.emulator import Emulator` (and `services.emulator.<module>`, and
`python -m services.emulator`) keep working for one release: they warn once with a
DeprecationWarning and give the very same objects as `emulator`. `import services` does not
import this module or the emulator.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

_OLD, _NEW = "services.emulator", "emulator"

warnings.warn("services.emulator is deprecated and will be removed in the next release; "
              "import emulator instead (e.g. `from emulator import Emulator`)",
              DeprecationWarning, stacklevel=1 if __name__ == "__main__" else 2)

try:
    import emulator as _emulator
except ModuleNotFoundError as exc:
    if exc.name != _NEW:
        raise
    # A build without the emulator: report the old name missing, as before the move.
    raise ModuleNotFoundError(f"No module named {_NEW!r} (the new home of {_OLD})",
                              name=_OLD) from exc

from emulator import *  # noqa: E402,F401,F403

__all__ = list(_emulator.__all__)


def __getattr__(name: str):
    return getattr(_emulator, name)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `services.emulator.<name>` as the module object `emulator.<name>` itself."""

    _services_emulator_alias = True

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_OLD + "."):
            return None
        new = _NEW + fullname[len(_OLD):]
        real = importlib.util.find_spec(new)
        if real is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=False)
        spec.loader_state = new
        return spec

    def create_module(self, spec):
        module = importlib.import_module(spec.loader_state)
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        # The import system has just stamped the alias spec on the module; give it its own back.
        module.__spec__ = module.__spec__.loader_state


if __name__ == "__main__":
    from emulator.cli import main

    sys.exit(main())

# Submodules: a package with no folder of its own, whose submodules the alias finder supplies.
__path__: list[str] = []
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_services_emulator_alias", False)]
sys.meta_path.append(_Alias())
