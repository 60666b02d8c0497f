"""The local stack's broker configs: one node, or a 3-node KRaft cluster with replication."""

from __future__ import annotations

from pathlib import Path

from stream_app.devstack import kafka as devkafka
from stream_app.settings import Settings


def _config(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_one_broker_keeps_its_single_node_layout(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka_port=9092, kafka_controller_port=9095)
    (broker,) = devkafka.brokers(settings)
    assert (broker.name, broker.log_dir) == ("kafka", tmp_path / "kafka-data")
    config = _config(devkafka._render_config(settings, broker))
    assert config["controller.quorum.voters"] == "1@127.0.0.1:9095"
    assert config["default.replication.factor"] == config["min.insync.replicas"] == "1"
    assert settings.bootstrap_servers == "127.0.0.1:9092"


def test_three_brokers_form_one_quorum_with_three_replicas_and_two_in_sync(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path, kafka_brokers=3, kafka_port=19092, kafka_controller_port=19095
    )
    brokers = devkafka.brokers(settings)
    assert [(b.node_id, b.name, b.port, b.controller_port) for b in brokers] == [
        (1, "kafka-1", 19092, 19095),
        (2, "kafka-2", 19192, 19195),
        (3, "kafka-3", 19292, 19295),
    ]
    assert len({b.log_dir for b in brokers}) == 3
    assert all(b.log_dir.parent == tmp_path / "kafka-cluster-3" for b in brokers)
    configs = [_config(devkafka._render_config(settings, b)) for b in brokers]
    voters = "1@127.0.0.1:19095,2@127.0.0.1:19195,3@127.0.0.1:19295"
    for n, config in enumerate(configs, start=1):
        assert config["node.id"] == str(n)
        assert config["controller.quorum.voters"] == voters
        assert config["listeners"] == (
            f"PLAINTEXT://127.0.0.1:{19092 + 100 * (n - 1)},"
            f"CONTROLLER://127.0.0.1:{19095 + 100 * (n - 1)}"
        )
        assert config["default.replication.factor"] == "3"
        assert config["offsets.topic.replication.factor"] == "3"
        assert config["min.insync.replicas"] == "2"
        assert config["unclean.leader.election.enable"] == "false"
    assert settings.replication_factor == 3
    assert settings.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292"


def test_an_explicit_replication_factor_wins(tmp_path: Path) -> None:
    assert Settings(kafka_brokers=3, topic_replication_factor=2).replication_factor == 2
    assert Settings(kafka_brokers=5).replication_factor == 3
