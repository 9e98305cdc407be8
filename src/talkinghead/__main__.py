"""``python -m talkinghead``: the command line (the same as the ``talkinghead`` command)."""

import sys

from talkinghead.cli import app

sys.exit(app())
