"""``python -m escrow``: the same command line as ``escrow``."""

from escrow.cli import main

if __name__ == "__main__":
    main()
