"""ostriage: causal diagnosis and safe repair of OpenStack control-plane incidents."""

__version__ = "0.1.0"

__all__ = ["__version__"]
