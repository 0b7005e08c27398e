"""The pure cores of webhooks import only the standard library (import-linter's rule, checked
here too until pyproject lists them), and the operator setting parses as documented."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from centralita.config import Settings
from centralita.webhooks.resolve import policy_from

SRC = Path(__file__).resolve().parents[2] / "src" / "centralita"
PURE = ["events/catalog.py", "webhooks/ssrf.py", "webhooks/signing.py", "webhooks/backoff.py"]


@pytest.mark.parametrize("path", PURE)
def test_pure_core_imports_only_the_standard_library(path: str) -> None:
    tree = ast.parse((SRC / path).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported


def test_allowed_hosts_setting_is_comma_separated(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, webhook_allowed_hosts=" 127.0.0.1, hooks.internal ,10.20.0.0/16"
    )
    assert settings.webhook_allowed_hosts == ["127.0.0.1", "hooks.internal", "10.20.0.0/16"]
    policy = policy_from(settings)
    assert policy.allowed.allows_host("hooks.internal") and not policy.allow_http
    assert Settings(data_dir=tmp_path).webhook_allowed_hosts == []
    with pytest.raises(ValueError, match="not a host name"):
        Settings(data_dir=tmp_path, webhook_allowed_hosts="10.0.0.0/33")
