"""One job (one grid point): prepare, run, its job dir, its console lines."""
