"""MLflow: the client, the sweep parent run, job runs, step metrics, earlier sweeps."""
