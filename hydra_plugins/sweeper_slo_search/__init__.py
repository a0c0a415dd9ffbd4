"""`hydra/sweeper=slo_search`: per server config, the highest load meeting every SLO."""
