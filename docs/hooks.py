"""mkdocs hook: render the Sphinx roles of the docstrings (``:func:`x```) as code.

The package's docstrings are numpy style with Sphinx cross-reference roles
(``:func:``, ``:class:``, ``:mod:``...). mkdocstrings shows them verbatim; this drops
the role name and keeps the code span, so the API reference reads cleanly.
"""

import re

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc|const):(<code>)")


def on_page_content(html, page, config, files):
    return _ROLE.sub(r"\1", html)
