"""The WeChat sandbox and the demo data are development tools beside the app: no production module imports
them, and an app whose WeChat is a real one never loads them (every gunicorn and worker process would carry
the simulator)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.imports import imported_modules

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [*sorted((ROOT / "services").rglob("*.py")), ROOT / "config.py", ROOT / "app.py"]
DEVELOPMENT_TOOLS = ("sandbox", "demo")

CREATE_APP_AND_SAY_WHAT_LOADED = """
import json, sys
from app import create_app
app = create_app(instance_path=sys.argv[1])
print(json.dumps({"tools": sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[2:]),
                  "commands": sorted(app.cli.commands)}))
"""


def test_no_production_module_imports_the_sandbox_or_the_demo():
    found = [f"{path.relative_to(ROOT)}: {module}" for path in PRODUCTION for module in imported_modules(path)
             if module.split(".")[0] in DEVELOPMENT_TOOLS]
    assert found == []


def test_an_app_on_a_real_wechat_never_loads_the_sandbox_or_the_demo(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'real.sqlite3'}",
           "WECHAT_APPID": "wx1234567890abcdef", "WECHAT_SECRET": "a-real-app-secret",
           "WECHAT_PAY_KEY": "a-real-pay-key"}
    shown = subprocess.run([sys.executable, "-c", CREATE_APP_AND_SAY_WHAT_LOADED, str(tmp_path), *DEVELOPMENT_TOOLS],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    loaded = json.loads(shown)
    assert loaded["tools"] == []
    assert "wechat-sandbox" not in loaded["commands"]
    assert "seed-demo" in loaded["commands"]


def test_the_sandbox_command_is_there_when_wechat_is_the_sandbox(app):
    assert "wechat-sandbox" in app.cli.commands
