"""The bottom layer every room shares: the one-line errors they raise and the instruments they
read — the kernel's receive stamps on sockets (`rxstamp`) and NVIDIA GPU telemetry (`gpu`).

It imports nothing from `launchers/`, `sweeper/` or `analysis/` (the import contract in
pyproject.toml checks it), so the simulator runs on it alone.
"""
