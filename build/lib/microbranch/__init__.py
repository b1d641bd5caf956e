"""Micro-branch operations data: import library exports into DuckDB, derive drift chains, serve named queries."""
