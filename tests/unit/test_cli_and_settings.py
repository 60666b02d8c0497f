"""The CLI's surface and the settings' defaults and validation."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from stream_app.cli import cli
from stream_app.errors import UserError
from stream_app.settings import EVENT_TYPES, Settings, load_settings


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "ccmon")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    """`--help` works on every (sub)command and shows a description."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_default_topics_are_the_spec_names() -> None:
    """Defaults match section 2 of the spec, one topic per event type."""
    topics = Settings().topics_by_type
    assert list(topics) == list(EVENT_TYPES)
    assert topics["contact.started"] == "cc.contact.started"
    assert topics["customer.status"] == "cc.customer.status"
    assert Settings().deadletter_topic == "cc.deadletter"
    assert Settings().topic_partitions == 6


def test_namespace_prefixes_every_topic() -> None:
    """A namespace isolates a test run: every topic, dead-letter included, carries it."""
    settings = Settings(topic_namespace="t1.")
    assert all(t.startswith("t1.cc.") for t in settings.all_topics)
    assert len(settings.all_topics) == 7


def test_bad_port_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """An out-of-range port names its environment variable in a single line."""
    monkeypatch.setenv("CCMON_KAFKA_PORT", "70000")
    with pytest.raises(UserError) as info:
        load_settings()
    message = str(info.value)
    assert "CCMON_KAFKA_PORT" in message
    assert "\n" not in message


def test_config_lists_every_variable() -> None:
    """`ccmon config` prints every CCMON_ variable with its description."""
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 0
    for name in Settings.model_fields:
        assert f"CCMON_{name.upper()}" in result.output
