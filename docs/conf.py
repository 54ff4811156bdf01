"""Sphinx configuration for ukeytool's documentation (MyST Markdown pages).

Built with warnings as errors: ``make docs``, or without installing anything first::

    sphinx-build -W --keep-going -q -b html docs docs/_build/html
    sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import sys
from pathlib import Path

# Import the package from the source tree, so the docs build without installing it and
# always describe the code next to them, not some other installed version.
SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from ukeytool import __version__  # noqa: E402

project = "ukeytool"
author = "ukeytool developers"
copyright = "ukeytool developers"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Signatures show parameter names only (TokenInfo has twenty); the types go into the
# descriptions, and into each dataclass field's entry.
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "mixed"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True

# Every cross-reference must resolve. Standard-library types cannot without intersphinx,
# which would make the build need the network; they are the only exceptions.
nitpicky = True
nitpick_ignore = [
    ("py:class", "datetime.datetime"),
]

html_theme = "alabaster"
html_title = f"ukeytool {release}"
html_static_path: list[str] = []

doctest_global_setup = """
import datetime
import ukeytool
UTC = datetime.timezone.utc
"""
