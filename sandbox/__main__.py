from .cli import wechat_sandbox_command

wechat_sandbox_command(prog_name="python -m sandbox")
