"""The PII benchmark end to end, small: nothing planted is found in any table or output.

``bench/pii.py`` plants personal data in every field of messages and broken payloads (some
of it written to hide it), streams them with ``voc run`` and a recovery directory into a
fresh embedded ClickHouse, then searches every table, every read command's output and every
recovery file for each planted item.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_no_planted_item_is_found_in_any_table_output_or_recovery_file(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    ran = subprocess.run(
        [sys.executable, "bench/pii.py", "--no-texts", "--messages", "400", "--seed", "7",
         "--json", str(figures)],
        cwd=REPO, capture_output=True, text=True, timeout=280, check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(figures.read_text(encoding="utf-8"))["everywhere"]
    assert result["planted_items"] > 600
    assert result["leaks"] == [], result["leaks"]
    assert result["recall"] == 1.0 and result["precision"] >= 0.99
    outputs = set(result["outputs"])
    assert {"table messages", "table dead_letters", "table alerts", "voc query", "voc alerts",
            "voc alerts --json", "voc dead-letters", "voc query --json"} <= outputs  # fmt: skip
    assert any(name.startswith("recovery/") for name in outputs)
    assert result["rows"]["messages"] > 300 and result["rows"]["dead_letters"] >= 20
