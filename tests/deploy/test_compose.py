"""deploy/compose.yaml: the engine's services run the image with `renewals` subcommands
and settings that exist; Postgres and Kafka are official images; start-up order is
enforced by health checks and the one-shot migration."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.deploy.code import DEPLOY, ROOT, env_names, serves, subcommands
from tests.deploy.files import Doc, compose, dockerfile_env, probed_urls

ENGINE = ("migrate", "api", "relay", "worker")


def services() -> dict[str, Doc]:
    found: dict[str, Doc] = compose()["services"]
    return found


def test_the_engine_services_build_the_image_from_deploy_dockerfile() -> None:
    for name in ENGINE:
        service = services()[name]
        assert service["image"].split(":")[0] == "renewals", name
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert context == ROOT, name
        assert (context / service["build"]["dockerfile"]).is_file(), name


def test_commands_are_renewals_subcommands() -> None:
    for name in ENGINE:
        command = services()[name]["command"]
        assert command == [name], name
        assert command[0] in subcommands()


def test_every_variable_is_a_setting() -> None:
    for name in ENGINE:
        environment = services()[name]["environment"]
        assert set(environment) - set(env_names()) == set(), name


def test_health_checks_probe_what_each_process_serves() -> None:
    image_env = dockerfile_env()
    ports = {
        "api": image_env["RENEWALS_API_PORT"],
        "worker": image_env["RENEWALS_WORKER_METRICS_PORT"],
        "relay": image_env["RENEWALS_RELAY_METRICS_PORT"],
    }
    for name, port in ports.items():
        check = services()[name]["healthcheck"]
        urls = probed_urls(" ".join(check["test"]))
        assert urls == [(int(port), "/readyz")], name
        assert serves(name, "/readyz")
    assert services()["migrate"]["healthcheck"] == {"disable": True}


def test_start_up_order_waits_for_health_and_the_migration() -> None:
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services().items()
    }
    assert conditions["migrate"] == {"postgres": "service_healthy"}
    for name in ("api", "relay", "worker"):
        assert conditions[name] == {
            "migrate": "service_completed_successfully",
            "kafka": "service_healthy",
        }
    for deps in conditions.values():
        for dep, condition in deps.items():
            if condition == "service_healthy":
                assert "healthcheck" in services()[dep], dep
    assert services()["migrate"]["restart"] == "no"


def test_postgres_and_kafka_are_pinned_official_images_wired_to_the_engine() -> None:
    postgres, kafka = services()["postgres"], services()["kafka"]
    assert postgres["image"].startswith("postgres:")
    assert kafka["image"].startswith("apache/kafka:")
    for image in (postgres["image"], kafka["image"]):
        assert not image.endswith(":latest")
    env = services()["api"]["environment"]
    url = make_url(env["RENEWALS_DATABASE_URL"])
    pg = postgres["environment"]
    assert (url.host, url.username, url.password, url.database) == (
        "postgres",
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert env["RENEWALS_EVENT_BUS"] == "kafka"
    kafka_env = kafka["environment"]
    assert "controller" in kafka_env["KAFKA_PROCESS_ROLES"]  # KRaft: no ZooKeeper
    assert kafka_env["KAFKA_ADVERTISED_LISTENERS"] == (
        f"PLAINTEXT://{env['RENEWALS_KAFKA_BOOTSTRAP_SERVERS']}"
    )
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_make_up_and_down_wrap_the_compose_file() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "COMPOSE := docker compose -f deploy/compose.yaml" in makefile
    for target in ("up:", "down:"):
        assert f"\n{target}\n\t$(COMPOSE) " in makefile
