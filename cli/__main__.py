"""`python -m cli`: the same as `m365dash`."""
import sys

from . import main

sys.exit(main())
