"""``python -m service.cli`` runs the same CLI as the ``staycurrent`` command."""

from service.cli import main

main()
