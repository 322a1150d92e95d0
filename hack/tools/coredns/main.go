// A CoreDNS with only the plugins the test cluster's DNS needs: it answers for
// cluster.local from the Kubernetes API and forwards nothing, so no look-up made by a
// test Pod ever leaves the machine. Importing core/plugin (as upstream's main does)
// would compile every plugin and its cloud SDKs for nothing.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which the plugins handle a query (upstream's plugin.cfg order).
var directives = []string{"bind", "health", "ready", "errors", "kubernetes"}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
