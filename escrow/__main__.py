"""``python -m escrow`` and the ``escrow`` console script: the command line of :mod:`escrow.cli`.

``escrow --version`` answers here, before the command line (typer, rich) and the ledger load.
"""

import sys


def main() -> None:
    """Console entry point (``escrow = "escrow.__main__:main"``)."""
    if sys.argv[1:] == ["--version"]:
        from escrow import __version__

        print(f"escrow {__version__}")
        return
    from escrow.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
