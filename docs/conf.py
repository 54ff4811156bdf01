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

# Every cross-reference must resolve. Standard-library names cannot without intersphinx,
# which would make the build need the network; they are exceptions. So are the private
# helpers that public docstrings mention (they live in underscored modules, which the
# reference does not document): OBJECT_TYPES (the values of Pkcs11Uri.type), the default
# paths behind discover(), and the file check discovery shares with module loading.
nitpicky = True
nitpick_ignore = [
    ("py:class", "datetime.datetime"),
    ("py:class", "collections.abc.Iterator"),
    ("py:func", "str"),
    ("py:data", "os.environ"),
    ("py:data", "OBJECT_TYPES"),
    ("py:func", "default_p11kit_dirs"),
    ("py:func", "default_catalogue_paths"),
    ("py:func", "default_library_dirs"),
    ("py:func", "ukeytool.pkcs11.backend.check_module_file"),
    # Renewal advice: days are datetime.date values; the policy file paths behind
    # load_policies() and user_policies_path().
    ("py:class", "datetime.date"),
    ("py:class", "pathlib.Path"),
    ("py:func", "default_policy_paths"),
]

html_theme = "alabaster"
html_title = f"ukeytool {release}"
html_static_path: list[str] = []

# DOCS is this directory, for doctests that read an example file next to the pages.
doctest_global_setup = f"""
import datetime
import pathlib
import ukeytool
UTC = datetime.timezone.utc
DOCS = pathlib.Path({str(Path(__file__).resolve().parent)!r})
"""
