import os, shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def script(name):
    "Path of a console script installed beside this Python (the project's virtual environment)."
    p = Path(sys.executable).parent/name
    return str(p) if p.exists() else shutil.which(name)

@pytest.fixture
def root(): return ROOT

def pytest_addoption(parser):
    parser.addoption('--slow', action='store_true', help="also run the long tests (make test-all)")

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long runs, only with --slow (make test-all)')

def pytest_collection_modifyitems(config, items):
    if config.getoption('--slow'): return
    skip = pytest.mark.skip(reason='long run: use --slow (make test-all)')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)
