"""Export input an attacker controls is refused as a precise 422 (it once gave 500s), and
what ffmpeg says about a failure reaches answers and custody records without the server's
paths, URLs or build configuration (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.renditions import render_pending
from tests.api.conftest import Api
from tests.api.test_http import approved_request
from vault.renditions import RenditionFailed, transcode
from vault.scrub import tool_report


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"recipient": "court\\u0000; rm -rf /"}', "recipient"),
        ('{"recipient": "court\\u001b[31mred"}', "recipient"),
        ('{"reason": "why\\u0000"}', "reason"),
        ('{"clips": [{"item": "abc", "start": 0, "end": 1e309}]}', "end"),
        ('{"clips": [{"item": "abc", "start": 0, "end": 1e12}]}', "end"),
        ('{"clips": [{"item": "abc", "start": -1, "end": 2}]}', "start"),
    ],
)
def test_bad_export_input_is_a_422_naming_the_field(api: Api, body: str, field: str) -> None:
    render_pending(api.vault.ingest_context())
    number = approved_request(api, purpose="export")
    answer = api.client.post(
        f"/requests/{number}/export",
        content=body.encode(),
        headers={**api.as_role("investigator"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in answer.text


def test_ffmpeg_failures_carry_no_server_location(tmp_path: Path) -> None:
    secret = tmp_path / "srv" / "sealed" / "ab" / "cd" / "recording.mp4"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"\x00" * 4096)  # not a video
    with pytest.raises(RenditionFailed) as failed:
        transcode(str(secret), tmp_path / "out.mp4", timeout=60)
    message = str(failed.value)
    assert message and str(tmp_path) not in message and "/srv/" not in message
    assert "configuration:" not in message and len(message) <= 700
    report = (
        "ffmpeg version 7.1 Copyright (c) 2000-2024\n  configuration: --prefix=/opt/ff --enable-x\n"
        "  libavutil 59. 39.100\n"
        "[in#0] Error opening input https://s3.internal/b/x?X-Amz-Signature=abc: /data/x.mp4\n"
        "Error opening input file /data/sealed/ab/x.mp4.\n"
    )
    cleaned = tool_report(report)
    assert "X-Amz-Signature" not in cleaned and "/data" not in cleaned and "--prefix" not in cleaned
    assert "Error opening input file <path>" in cleaned
