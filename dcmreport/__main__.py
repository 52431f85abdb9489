"""``python -m dcmreport`` runs the same CLI as the ``dcmreport`` console script."""

from dcmreport.cli.app import main

main()
