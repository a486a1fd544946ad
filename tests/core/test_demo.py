"""``corridor demo`` tells the whole story and ends with a clean ledger."""

from __future__ import annotations

import io

from rich.console import Console

from api import demo


def test_the_demo_story_runs_end_to_end(tmp_path):
    out = io.StringIO()
    assert demo.run(Console(file=out, width=120), data_dir=tmp_path) == 0
    text = out.getvalue()
    for line in (
        "Hana in Tokyo pays in yen",
        "￥12,000",
        "Settlement, T+2",
        "pain.001",
        "The bank answers: paid",
        "領収書",
        "ledger.verify(): clean",
    ):
        assert line in text, line
