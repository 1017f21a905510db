"""Prompts recorded in segments with spoken parameters, and the checker that lists what a pack
is missing (dialects/check.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from twilio.twiml.voice_response import VoiceResponse

from dialects.check import check
from dialects.packs import PACK_DIR, Composed, Packs, Play, Say
from ivr.call.twiml import speak

MP3 = b"ID3\x04\x00" + b"\x00" * 64  # an ID3 header: what the checker reads of an MP3


@pytest.fixture
def packs(tmp_path: Path) -> Packs:
    """The shipped packs with the Shanghainese greeting recorded in two segments."""
    audio = tmp_path / "audio" / "shanghainese"
    audio.mkdir(parents=True)
    for name in ("senior_greeting_1.mp3", "senior_greeting_2.mp3", "connecting.mp3"):
        (audio / name).write_bytes(MP3)
    return Packs(PACK_DIR, tmp_path / "audio")


def test_a_prompt_with_a_parameter_plays_its_segments_around_the_spoken_name(
    packs: Packs,
) -> None:
    greeting = packs.utterance("shanghainese", "senior_greeting", hotline="平安 95511")
    assert isinstance(greeting, Composed)
    first, name, last = greeting.parts
    assert first == Play("shanghainese/senior_greeting_1.mp3")
    assert isinstance(name, Say) and name.text == "平安 95511"
    assert name.language == "cmn-CN"  # the fallback pack's voice speaks what is not recorded
    assert last == Play("shanghainese/senior_greeting_2.mp3")
    vr = VoiceResponse()
    speak(vr, greeting, "https://hotline.example", rate="80%")
    verbs = [(el.tag, (el.text or "").strip()) for el in ET.fromstring(str(vr))]
    assert [tag for tag, _ in verbs] == ["Play", "Say", "Play"]
    assert (
        verbs[0][1] == "https://hotline.example/dialects/audio/shanghainese/senior_greeting_1.mp3"
    )


def test_a_recorded_value_is_played_and_a_missing_segment_speaks_the_whole_prompt(
    packs: Packs, tmp_path: Path
) -> None:
    values = tmp_path / "audio" / "shanghainese" / "values" / "hotline"
    values.mkdir(parents=True)
    (values / "95511.mp3").write_bytes(MP3)
    greeting = packs.utterance("shanghainese", "senior_greeting", hotline="95511")
    assert isinstance(greeting, Composed)
    assert greeting.parts[1] == Play("shanghainese/values/hotline/95511.mp3")
    (tmp_path / "audio" / "shanghainese" / "senior_greeting_2.mp3").unlink()
    whole = packs.utterance("shanghainese", "senior_greeting", hotline="95511")
    assert isinstance(whole, Say) and "95511" in whole.text  # never half a prompt


def test_the_checker_tells_recorded_composed_spoken_and_broken_apart(
    packs: Packs, tmp_path: Path
) -> None:
    folder = tmp_path / "audio" / "shanghainese"
    (folder / "reroute.mp3").write_bytes(b"<html>not audio</html>")
    found = {f.prompt: f for f in check(packs, "shanghainese")}
    assert found["connecting"].status == "recorded"
    assert found["senior_greeting"].status == "composed"
    assert found["reroute"].status == "broken"
    assert found["reroute"].detail == "reroute.mp3: not MP3 audio inside"
    assert found["menu_sorry"].detail == "menu_sorry.mp3: missing"
    spoken = found["complaint_channel"]
    assert spoken.status == "spoken" and "{hours}" in spoken.text
    assert spoken.detail.endswith(
        "['complaint_channel_1.mp3', '{hours}', 'complaint_channel_2.mp3', '{key}', "
        "'complaint_channel_3.mp3']"
    )


def test_the_shipped_recorded_packs_name_a_place_for_every_parameter() -> None:
    """No shipped pack names one file for a prompt with parameters (it could never play)."""
    packs = Packs()
    for code in ("shanghainese", "minnan", "sichuanese"):
        wrong = [f for f in check(packs, code) if "one file for a prompt" in f.detail]
        assert wrong == [], code


def test_a_pack_copied_with_every_file_checks_clean(tmp_path: Path) -> None:
    packs = Packs()
    audio = tmp_path / "audio" / "shanghainese"
    audio.mkdir(parents=True)
    for entry in packs.get("shanghainese").audio.values():
        for name in (entry,) if isinstance(entry, str) else entry:
            if name.endswith(".mp3"):
                (audio / name).write_bytes(MP3)
    copied = Packs(PACK_DIR, tmp_path / "audio")
    named = copied.get("shanghainese").audio
    statuses = {f.status for f in check(copied, "shanghainese") if f.prompt in named}
    assert statuses == {"recorded", "composed"}


def test_the_audio_route_serves_the_recordings_packs_name_and_nothing_else(
    client: FlaskClient, packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ivr.call.audio.default_packs", lambda: packs)
    folder = tmp_path / "audio" / "shanghainese"
    (folder / "values" / "hotline").mkdir(parents=True)
    (folder / "values" / "hotline" / "95511.mp3").write_bytes(MP3)
    (folder / "private.mp3").write_bytes(MP3)  # in the folder, named by no pack
    for path in ("connecting.mp3", "senior_greeting_1.mp3", "values/hotline/95511.mp3"):
        with client.get(f"/dialects/audio/shanghainese/{path}") as found:  # closes the file
            assert found.status_code == 200 and found.data == MP3, path
    for path in (
        "%2e%2e/packs/shanghainese.toml",  # the pack code climbs out of audio/
        "..%2fpacks/shanghainese.toml",
        "shanghainese/private.mp3",
        "shanghainese/values/../private.mp3",
        "shanghainese/values/hotline/.hidden.mp3",
        "nosuch/connecting.mp3",
    ):
        with client.get(f"/dialects/audio/{path}") as refused:
            assert refused.status_code == 404, path


def test_the_shipped_audio_route_does_not_climb_to_the_source(client: FlaskClient) -> None:
    # `GET /dialects/audio/%2e%2e/packs.py` returned dialects/packs.py.
    for path in ("%2e%2e/packs.py", "%2E%2E/audio/README.txt"):
        with client.get(f"/dialects/audio/{path}") as refused:
            assert refused.status_code == 404, path
