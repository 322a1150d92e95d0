"""Names the operator owns: the API identity, child object names, labels and annotations.

Kept in one place because the CRD generator, the builders, the kopf wiring and the docs
must agree on every one of them; a rename here is an API change.
"""

from __future__ import annotations

GROUP = "mcp.coviu.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "CoviuMCPServer"
PLURAL = "coviumcpservers"
SINGULAR = "coviumcpserver"
SHORT_NAMES = ("cmcp",)
CATEGORIES = ("coviu", "mcp")
CRD_NAME = f"{PLURAL}.{GROUP}"

# Server-side apply field manager, and the value of app.kubernetes.io/managed-by.
MANAGER = "coviu-mcp-operator"

# Labels on every child object. SERVER_LABEL maps a child back to its CoviuMCPServer.
SERVER_LABEL = f"{GROUP}/server"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
APP_NAME = "coviu-mcp-server"

# Set by users on a CoviuMCPServer: any new value mints a new URL token.
ROTATE_ANNOTATION = f"{GROUP}/rotate-token"
# Set by the operator on the token Secret: the rotate-token value that Secret answers.
ROTATION_ANNOTATION = f"{GROUP}/rotation"
# On the pod template: digest of every Secret value the proxy reads, so a change rolls it.
CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"
# On the Deployment: the Secret shares it was built from (withdrawal.py), so that a share
# withdrawn later removes it.
SHARES_ANNOTATION = f"{GROUP}/shares"

FINALIZER = f"{GROUP}/finalizer"

# Set by the owner of a Secret to share it with CoviuMCPServers (see policy.py): the label
# names the one use (SECRET_USES), the annotations which servers may use it and which keys.
# The operator watches only Secrets carrying the label; its own Secrets carry it as OWNED_USE.
SECRET_USE_LABEL = f"{GROUP}/secret-use"
SECRET_SERVERS_ANNOTATION = f"{GROUP}/servers"
SECRET_KEYS_ANNOTATION = f"{GROUP}/keys"
CREDENTIALS_USE = "credentials"
API_TOKENS_USE = "api-tokens"
URL_TOKEN_USE = "url-token"
SECRET_USES = (CREDENTIALS_USE, API_TOKENS_USE, URL_TOKEN_USE)
OWNED_USE = "operator"

# The proxy's container port and the Service port in front of it.
CONTAINER_PORT = 8080
SERVICE_PORT = 80
# The proxy's admin port (MCP_ADMIN_PORT): /healthz, /readyz and /metrics, never in the Service.
ADMIN_PORT = 9090
# Longest CoviuMCPServer name: the Service "<name>-mcp" must stay a 63-character DNS label.
MAX_NAME_LENGTH = 53


def workload_name(server: str) -> str:
    """Name of the Deployment, Service and ServiceAccount of a server."""
    return f"{server}-mcp"


def token_secret_name(server: str) -> str:
    """Name of the Secret holding a server's URL token and full URL."""
    return f"{server}-mcp-token"


def link_key_secret_name(server: str) -> str:
    """Name of the Secret holding the key a server's proxy signs download links with."""
    return f"{server}-mcp-link-key"


def selector_labels(server: str) -> dict[str, str]:
    """Labels that select a server's pods; never change them, Deployment selectors are immutable."""
    return {NAME_LABEL: APP_NAME, INSTANCE_LABEL: server}


def child_labels(server: str) -> dict[str, str]:
    """Labels on every object created for a server."""
    return {
        **selector_labels(server),
        COMPONENT_LABEL: "mcp-server",
        MANAGED_BY_LABEL: MANAGER,
        SERVER_LABEL: server,
    }
