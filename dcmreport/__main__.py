"""``python -m dcmreport`` runs the same CLI as the ``dcmreport`` console script."""

from dcmreport.cli import main

main()
