"""The command line: a thin Typer layer over the rest (see :mod:`dcmreport.cli.app`)."""
