"""Warta: a public-service notification hub for Indonesia."""

__version__ = "0.1.0"
