"""No command writes over its own input, however the path is spelled, and none invents
folders: a one-line error, exit status 2, and the input untouched."""

from __future__ import annotations

import os

import pytest

from codec.audio.paths import OutputError, check_output, same_file
from tests.helpers.cli import TINY, assert_one_line_error, run_cli
from tests.helpers.signals import write_tone


def spellings(path):
    """The same file named five ways: absolute, ./relative (to its folder), with a detour,
    a symbolic link, a hard link."""
    link, hard = path.with_name("link.wav"), path.with_name("hard.wav")
    link.symlink_to(path.name)
    os.link(path, hard)
    detour = path.parent / "x" / ".." / path.name
    return [str(path), f"./{path.name}", str(detour), str(link), str(hard)]


@pytest.mark.parametrize("command", ["roundtrip", "encode", "report"])
def test_a_command_refuses_to_write_over_its_input(tmp_path, command):
    src = tmp_path / "in.wav"
    write_tone(src, seconds=0.3, sr=24_000, channels=1)
    (tmp_path / "x").mkdir()
    before = src.read_bytes()
    for out in spellings(src):
        r = run_cli(command, str(src), "-o", out, *TINY, cwd=tmp_path)
        assert_one_line_error(r, "it is the input file")
        assert src.read_bytes() == before, (command, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.wav", "in.wav", "link.wav", "x"]


def test_decode_refuses_to_write_over_its_codes(tmp_path):
    src, codes = tmp_path / "in.wav", tmp_path / "c.safetensors"
    write_tone(src, seconds=0.3, sr=24_000, channels=1)
    assert run_cli("encode", str(src), "-o", str(codes), *TINY).returncode == 0
    before = codes.read_bytes()
    r = run_cli("decode", str(codes), "-o", str(tmp_path / "." / "c.safetensors"), *TINY)
    assert_one_line_error(r, "it is the input file")
    assert codes.read_bytes() == before


@pytest.mark.parametrize("command", ["roundtrip", "encode", "report"])
def test_an_output_folder_that_does_not_exist_is_an_error(tmp_path, command):
    src = tmp_path / "in.wav"
    write_tone(src, seconds=0.3, sr=24_000, channels=1)
    out = tmp_path / "no" / "such" / ("dir" if command == "report" else "out.wav")
    r = run_cli(command, str(src), "-o", str(out), *TINY)
    assert_one_line_error(r, "does not exist")
    assert not (tmp_path / "no").exists()  # nothing was created


def test_check_output_rules(tmp_path):
    a = tmp_path / "a.wav"
    a.write_bytes(b"x")
    assert same_file(a, tmp_path / "." / "a.wav") and not same_file(a, tmp_path / "b.wav")
    assert check_output(tmp_path / "b.wav", a) == tmp_path / "b.wav"
    with pytest.raises(OutputError, match="is the input"):
        check_output(tmp_path / "sub" / ".." / "a.wav", a)
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, a)
    with pytest.raises(OutputError, match="a file, not a folder"):
        check_output(a, tmp_path / "other.wav", folder=True)
    assert check_output(tmp_path / "new_dir", a, folder=True) == tmp_path / "new_dir"
