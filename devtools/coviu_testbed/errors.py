"""Every failure of the test bed is a TestbedError, so a caller can catch the bed's own failures
apart from the system under test's. Each also keeps the standard type callers already expect.

    TestbedError
    ├── MissingBinaryError (FileNotFoundError)   cluster.binaries: a binary was not built
    ├── MissingImageError (FileNotFoundError)    pods: an image archive of `make image` is absent
    ├── NodeSetupError (RuntimeError)            cluster.network: the machine cannot host the node
    ├── ProcessExited (RuntimeError)             cluster.process: a component exited
    ├── LaunchError (RuntimeError)               launch: a child never became ready
    ├── ApiError (RuntimeError)                  cluster.controlplane: the API server refused
    ├── KubectlError (CalledProcessError)        cluster.controlplane: kubectl failed
    │   └── HelmError                            k8s: helm failed
    ├── UnresolvedEnvError (LookupError)         podenv: a secretKeyRef points nowhere
    └── PodFailed (AssertionError)               pods: a Pod did not become Ready
"""


class TestbedError(Exception):
    """The test bed could not do what it was asked; the message says what and why."""

    __test__ = False  # not a pytest test class, despite its name
