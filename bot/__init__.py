"""Signpost: UK research-funding opportunities for charities and researchers, in chat."""

__version__ = "0.1.0"
