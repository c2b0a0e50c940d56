"""Imports have no side effects.

Importing any module of flows/, nlp/ or schemas/ reads no data file, loads no model,
configures no logging and opens no connection. Package metadata read by the import
machinery (an editable install's finder, entry points) is not a side effect of our code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, logging, pkgutil, importlib, socket, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        path = args[0]
        if not path.endswith((".py", ".pyc", ".so", ".pth", ".zip")) and "/site-packages/" not in path \
                and not path.startswith(("/proc", "/dev", "/usr/lib", "/etc")) and "__pycache__" not in path \
                and not any(meta in path for meta in (".egg-info", ".dist-info", "__editable__")):
            opened.append(path)
    if event == "socket.connect":
        opened.append(f"socket:{args[1]}")
sys.addaudithook(hook)
handlers_before = len(logging.getLogger().handlers)
names = []
for package in ("schemas", "nlp", "flows"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
print(json.dumps({"modules": names, "opened": opened,
                  "handlers": len(logging.getLogger().handlers) - handlers_before}))
"""


def test_imports_have_no_side_effects() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["modules"]) > 30
    assert result["opened"] == [], "files or sockets opened at import time"
    assert result["handlers"] == 0, "a module configured logging at import"
