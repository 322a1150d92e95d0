"""The CoviuMCPServer operator: one scoped, expiring Coviu MCP server per custom resource."""
