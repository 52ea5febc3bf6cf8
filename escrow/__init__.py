"""escrow: the books of Beijing rental deposit custody and rent supervision."""

__version__ = "0.1.0"
