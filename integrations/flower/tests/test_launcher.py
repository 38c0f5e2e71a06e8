from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fedgate_flower import launcher

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "fedgate-api-key"
    path.write_text("k")
    path.chmod(0o600)
    return path


def test_check_config_accepts_fedgate_urls_as_flags(key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    launcher.main(["--login-url", "https://login:1", "--token-url", "https://token:2", "--authz-url", "https://authz:3", "--api-key-file", str(key_file), "--check-config"])
    assert "login https://login:1, token https://token:2, authz https://authz:3, service:superlink" in capsys.readouterr().err


def test_the_key_never_stays_in_the_environment_flwr_hands_to_its_children(monkeypatch: pytest.MonkeyPatch, key_file: Path) -> None:
    import os

    monkeypatch.setenv("FEDGATE_API_KEY", "leaked")
    launcher.main(["--login-url", "https://login:1", "--token-url", "https://token:2", "--authz-url", "https://authz:3", "--api-key-file", str(key_file), "--check-config"])
    assert "FEDGATE_API_KEY" not in os.environ
    assert "k" not in [v for k, v in os.environ.items() if k.startswith("FEDGATE")]


def test_a_key_file_others_may_read_stops_the_launcher(key_file: Path) -> None:
    key_file.chmod(0o644)
    with pytest.raises(SystemExit) as err:
        launcher.main(["--login-url", "https://login:1", "--token-url", "https://token:2", "--authz-url", "https://authz:3", "--api-key-file", str(key_file), "--check-config"])
    assert "accessible to group or others" in str(err.value.code)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--login-url", "https://login:1"], "needs --token-url and --authz-url"),
        (["--login-url", "https://login:1", "--token-url", "https://t:2", "--authz-url", "https://a:3"], "needs --api-key-file"),
        ([], "give --user-auth-config FILE"),
    ],
)
def test_unusable_settings_stop_before_the_superlink_starts(monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str) -> None:
    monkeypatch.delenv("FEDGATE_STACK_FILE", raising=False)
    monkeypatch.delenv("FEDGATE_API_KEY_FILE", raising=False)
    with pytest.raises(SystemExit) as err:
        launcher.main([*argv, "--check-config"])
    assert message in str(err.value.code)


@pytest.mark.parametrize(
    ("version", "reason"),
    [("1.30.0", "1.24-1.33 are not supported"), ("1.24.0", "1.24-1.33 are not supported"), ("1.43.0", "newer than 1.42"), ("1.21.0", "older releases")],
)
def test_an_unsupported_flwr_is_refused_with_what_to_install(monkeypatch: pytest.MonkeyPatch, version: str, reason: str) -> None:
    monkeypatch.setattr("fedgate_flower.compat.installed_flwr_version", lambda: version)
    with pytest.raises(SystemExit) as err:
        launcher.main(["--check-config"])
    assert f"flwr {version} is not supported" in str(err.value.code)
    assert reason in str(err.value.code)
    assert "pip install 'flwr>=1.34.0,<1.43'" in str(err.value.code)
    assert "pip install 'flwr>=1.22.0,<1.24'" in str(err.value.code)


@pytest.mark.parametrize("version", ["1.22.0", "1.23.0", "1.34.0", "1.37.0", "1.42.0"])
def test_both_bands_are_accepted(version: str) -> None:
    from fedgate_flower.compat import check_flwr_version

    assert check_flwr_version(version) == version


def test_the_package_builds_as_a_wheel_with_its_flwr_range_and_console_script(tmp_path: Path) -> None:
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("fedgate_flower-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    requirement = next(line for line in meta.splitlines() if line.startswith("Requires-Dist: flwr"))
    for part in ("<1.43", ">=1.22.0", "!=1.24.*", "!=1.33.*"):
        assert part in requirement
    assert "fedgate-superlink = fedgate_flower.launcher:main" in entry_points
    assert "fedgate_flower/py.typed" in names
    assert not any("tests/" in n for n in names)
