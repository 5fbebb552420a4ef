"""stnews: a monitor for government science-and-technology cooperation news."""

__version__ = "0.1.0"
