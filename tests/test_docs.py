"""Docs that cannot drift: every CLI command and option is in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from crawler.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, path + (name,))
        else:
            yield path + (name,), command


@pytest.mark.parametrize("path, command", list(commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_command_and_its_options_are_documented(path, command):
    assert f"`turfwatch {' '.join(path)}`" in README
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            longest = max(param.opts, key=len)
            assert longest in README, f"turfwatch {' '.join(path)} {longest} is not in the README"


def test_quickstart_is_two_make_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert "make demo" in quickstart and "make test" in quickstart
