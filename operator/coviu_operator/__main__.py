"""`python -m coviu_operator` runs the operator, like the `coviu-mcp-operator` command."""

import sys

from .cli import main

sys.exit(main())
