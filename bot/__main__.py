"""``python -m bot`` is the ``signpost`` command."""

from bot.cli import main

main()
