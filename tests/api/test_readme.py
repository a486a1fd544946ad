"""The README's Python example runs, as written, against a live Corridor."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs(service, merchant):
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if "payment_intents.create" in b)
    code = example.replace('"http://127.0.0.1:8000"', repr(service.base_url))
    namespace: dict[str, object] = {"KEY": merchant.key}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["intent"].status == "succeeded"  # type: ignore[attr-defined]
    assert namespace["refund"].amount == 2000  # type: ignore[attr-defined]
