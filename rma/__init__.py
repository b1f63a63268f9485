"""rma: the shop-floor system of a returned-unit repair depot."""

__version__ = "0.1.0"
