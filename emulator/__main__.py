"""`python -m emulator`: the same as `m365dash emulator`."""
import sys

from .cli import main

sys.exit(main())
