import subprocess
import sys

from tests.helpers import REPO


def test_core_and_cli_never_load_qt():
    code = (
        "import sys, photosearch.core.app, photosearch.core.pipeline.indexer, photosearch.core.search\n"
        "import photosearch.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_sources_do_not_import_qt():
    sources = [*(REPO / "photosearch" / "core").rglob("*.py"), *(REPO / "photosearch" / "cli").rglob("*.py")]
    for path in sources:
        text = path.read_text()
        assert "PySide6" not in text and "shiboken" not in text, path
