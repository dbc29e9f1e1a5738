# SPDX-License-Identifier: GPL-2.0
"""The project's reStructuredText must build without a warning (docutils, as Sphinx parses it)."""

import io
from pathlib import Path


def problems(path: Path, text=None):
    """docutils' warnings and errors for one rst file, a list of lines (empty if clean)."""
    try:
        import docutils.core
    except ImportError:
        return [f"{path}: docutils is missing (qemu-ci/setup installs python3-docutils)"]
    out = io.StringIO()
    docutils.core.publish_doctree(
        path.read_text() if text is None else text, source_path=str(path),
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": out,
                            "file_insertion_enabled": False, "raw_enabled": False})
    return [line for line in out.getvalue().splitlines() if "(WARNING/" in line
            or "(ERROR/" in line or "(SEVERE/" in line]
