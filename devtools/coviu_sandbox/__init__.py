"""An in-memory HTTP server that behaves like the Coviu REST API, for tests, demos and benchmarks."""
