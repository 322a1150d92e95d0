"""The Coviu MCP proxy: Coviu's API as MCP tools behind a secret URL."""
