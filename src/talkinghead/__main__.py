"""``python -m talkinghead``: the command line (the same as the ``talkinghead`` command)."""

from talkinghead.cli import run

run()
