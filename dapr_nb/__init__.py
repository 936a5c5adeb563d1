"""dapr_nb: work with Dapr from a notebook."""

__version__ = "0.1.0"
