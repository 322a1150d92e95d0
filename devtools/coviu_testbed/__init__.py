"""The test bed: what tests, benchmarks, `make demo`, `make demo-proxy` and `make cluster` share.

- `cluster`: a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok
  or a real node) as local processes.
- `launch`: the sandbox and the proxy as processes on loopback, ready when they answer.
- `operator`: the operator in a thread of the caller, and objects a test states in one line;
  `operator_process`: the operator as a child process that can be SIGKILLed and restarted.
- `k8s`, `pods`: shortcuts for the operator on a real cluster and for real Pods.
- `invariants`: what a namespace must look like after faults.
- `podenv`: a Deployment's proxy environment, resolved as the kubelet would.
- `demo`: the triage and compliance workflows through a real MCP client.

None of it ships in the product: it is the coviu-mcp-devtools distribution (devtools/).
"""
