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
