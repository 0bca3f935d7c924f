"""`m365dash emulator`: run the local Microsoft 365 emulator in the foreground.

The command, its options and its output belong to the top-level `emulator` package (the same as
`python -m emulator`); this module only adds it to `m365dash`.
"""
from __future__ import annotations

from emulator.cli import register

__all__ = ["register"]
