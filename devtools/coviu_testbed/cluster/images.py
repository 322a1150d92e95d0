"""The Pod sandbox ("pause") image, made from the static pause binary of ``make k8s-tools``.

No registry is reachable, so the image is written here as a docker-archive tarball (one
layer holding ``/pause``), which ``ctr images import`` reads like any ``podman save``.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

PAUSE_IMAGE = "localhost/pause:coviu"


def _layer(binary: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        info.size, info.mode = binary.stat().st_size, 0o755
        with binary.open("rb") as data:
            tar.addfile(info, data)
    return buffer.getvalue()


def pause_archive(binary: Path, path: Path, tag: str = PAUSE_IMAGE) -> Path:
    """Write a docker-archive of a one-file image whose entrypoint is ``/pause``."""
    layer = _layer(binary)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
    }).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(path, mode="w") as tar:
        for name, data in (("layer.tar", layer), ("config.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
