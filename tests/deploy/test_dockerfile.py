"""deploy/Dockerfile: multi-stage, slim, not root, `renewals` as the entrypoint, a
health check against a route every long-running command serves, settings that exist."""

from __future__ import annotations

from tests.deploy.code import ROOT, env_names, serves, subcommands
from tests.deploy.files import dockerfile, dockerfile_env, probed_urls

BUILD_TOOLS = ("apt-get", "apk ", "gcc", "build-essential", "pip install")


def final_stage() -> int:
    return max(i.stage for i in dockerfile())


def test_multi_stage_on_slim_python_with_nothing_built_in_the_final_stage() -> None:
    bases = [i.arguments.split()[0] for i in dockerfile() if i.keyword == "FROM"]
    assert len(bases) >= 2
    assert all(base.startswith("python:3.11-slim") for base in bases)
    for instruction in dockerfile():
        if instruction.stage == final_stage() and instruction.keyword == "RUN":
            assert not any(tool in instruction.arguments for tool in BUILD_TOOLS)
    copies = [i for i in dockerfile() if i.stage == final_stage() and i.keyword == "COPY"]
    assert [c.arguments for c in copies] == ["--from=build /opt/venv /opt/venv"]


def test_runs_as_a_numeric_non_root_user() -> None:
    (user,) = [i.arguments for i in dockerfile() if i.keyword == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_the_entrypoint_is_renewals_and_the_command_a_subcommand() -> None:
    (entrypoint,) = [i.exec_form() for i in dockerfile() if i.keyword == "ENTRYPOINT"]
    (command,) = [i.exec_form() for i in dockerfile() if i.keyword == "CMD"]
    assert entrypoint == ["renewals"]
    assert command[0] in subcommands()
    assert 'renewals = "services.cli:app"' in (ROOT / "pyproject.toml").read_text()


def test_environment_names_settings_and_every_process_shares_the_exposed_port() -> None:
    env = dockerfile_env()
    renewals = {key for key in env if key.startswith("RENEWALS_")}
    assert renewals - set(env_names()) == set()
    (exposed,) = [i.arguments for i in dockerfile() if i.keyword == "EXPOSE"]
    for port_setting in (
        "RENEWALS_API_PORT",
        "RENEWALS_WORKER_METRICS_PORT",
        "RENEWALS_RELAY_METRICS_PORT",
    ):
        assert env[port_setting] == exposed
    assert env["RENEWALS_API_HOST"] == "0.0.0.0"


def test_the_health_check_probes_livez_on_the_exposed_port() -> None:
    (check,) = [i for i in dockerfile() if i.keyword == "HEALTHCHECK"]
    (exposed,) = [i.arguments for i in dockerfile() if i.keyword == "EXPOSE"]
    command = check.arguments.split(" CMD ", 1)[1]
    assert "curl" not in command  # not in the slim image
    assert probed_urls(command) == [(int(exposed), "/livez")]
    for process in ("api", "worker", "relay", "dev"):
        assert serves(process, "/livez"), process


def test_dockerignore_lets_in_exactly_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for instruction in dockerfile():
        if instruction.keyword == "COPY" and not instruction.arguments.startswith("--from"):
            copied |= set(instruction.arguments.split()[:-1])
    assert {c.rstrip("/") for c in copied} == allowed
