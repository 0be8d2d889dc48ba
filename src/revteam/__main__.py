"""``python -m revteam``: the command line, for environments without the ``revteam`` script."""

from revteam.cli import main

main()
