"""Helpers that build test and demo fixtures; the only code in ukeytool that writes to a token."""
