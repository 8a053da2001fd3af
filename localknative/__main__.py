"""``python -m localknative``: the platform on its own (what ``binks up`` runs)."""

import sys

from localknative.command import main

sys.exit(main())
