"""ukeytool: inspect PKCS#11 tokens read-only and report which certificates still work."""

from ._version import __version__

__all__ = ["__version__"]
