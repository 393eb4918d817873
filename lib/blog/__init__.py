"""The site builder: read -> preprocess -> render -> write. `python -m lib.blog build` runs it.

rfc3987-syntax, which JupyterLab's dependencies install, compiles a grammar when
jsonschema imports it (over a second). nbformat's schema never uses it, so the
builder hides it before nbformat loads jsonschema.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
