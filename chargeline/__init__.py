"""chargeline: the data backbone of an EV charge point operator."""

__version__ = "0.1.0"
