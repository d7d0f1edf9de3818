"""The wheel's package data that lives outside the package in the repository: the prompt templates
(`prompts/`, the one copy) and the default follow-up set of `assistant eval --conversation`
(`bench/conversations.jsonl`) are copied into `assistant/_shipped/` when a wheel is built. An editable
install reads them where they are (assistant/shipped.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# repository path → path under assistant/_shipped/
SHIPPED = {"prompts": "prompts", "bench/conversations.jsonl": "conversations.jsonl"}


class BuildWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "assistant" / "_shipped"
        for src, dest in SHIPPED.items():
            source, out = ROOT / src, target / dest
            if source.is_dir():
                shutil.copytree(source, out, dirs_exist_ok=True)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, out)


setup(cmdclass={"build_py": BuildWithShipped})
