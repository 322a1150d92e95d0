"""Run the test control plane in the foreground for hands-on work (`make cluster`).

Starts the same etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok
set the real-cluster tests use (coviu_testbed.cluster), prints how to point kubectl at it, and
keeps it up until Ctrl-C (or SIGTERM), then stops every process and removes its files.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from coviu_testbed.cluster import ControlPlane, MissingBinaryError, ProcessExited
from coviu_testbed.cluster.binaries import CLIENT_BIN, ROOT

STABLE_KUBECONFIG = ROOT / ".cache" / "k8s" / "kubeconfig"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, certificates, etcd data) on exit")
    parser.add_argument("--kubeconfig", type=Path, default=STABLE_KUBECONFIG,
                        help="also copy the kubeconfig here (default: %(default)s)")
    args = parser.parse_args()
    # A shell that starts us in the background ignores SIGINT; make Ctrl-C work regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    print("Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok...",
          flush=True)
    plane = ControlPlane(keep_workdir=args.keep)
    try:
        plane.start()
    except (MissingBinaryError, ProcessExited, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; everything started so far has been stopped.", file=sys.stderr)
        return 130
    try:
        args.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plane.kubeconfig, args.kubeconfig)
        args.kubeconfig.chmod(0o600)
        _print_banner(plane, args.kubeconfig)
        while True:  # until Ctrl-C; a component that dies ends the session too
            for process in plane.processes.values():
                process.check_running()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping the control plane...", flush=True)
        return 0
    except ProcessExited as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        plane.stop()
        args.kubeconfig.unlink(missing_ok=True)
        if args.keep:
            print(f"Kept logs and data in {plane.workdir}")


def _print_banner(plane: ControlPlane, kubeconfig: Path) -> None:
    kubectl = CLIENT_BIN / "kubectl"
    pids = ", ".join(f"{name} {p.pid}" for name, p in plane.processes.items())
    print(f"""
Control plane ready in {plane.startup_seconds:.1f}s at {plane.server}
  processes: {pids}
  logs and data: {plane.workdir}
  fake node: {plane.node_name} (kwok keeps it Ready and runs its Pods)

In another shell:
  export KUBECONFIG={kubeconfig}
  export PATH={kubectl.parent}:$PATH     # kubectl and helm from `make kube-clients`
  kubectl get nodes
  kubectl apply -f {ROOT / 'crds'}/          # the operator's CRDs
  kubectl apply -f {ROOT / 'examples'}/      # sample resources

Press Ctrl-C to stop and remove everything.""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
