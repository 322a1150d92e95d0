"""Ports for the processes a test or demo starts side by side."""

from __future__ import annotations

from coviu_testbed.launch import free_ports


def test_ports_drawn_together_are_distinct() -> None:
    """Drawn one at a time, the kernel may hand a just-closed port out again (a proxy once got
    the same MCP and admin port and refused to start)."""
    for _ in range(200):
        ports = free_ports(3)
        assert len(set(ports)) == 3
