"""`kubectl cmcp`: a kubectl plugin for CoviuMCPServers (the `kubectl-cmcp` console script)."""
