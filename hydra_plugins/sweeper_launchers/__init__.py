"""sweeper's own Hydra launchers: `hydra/launcher=submitit_slurm` (hydra-submitit-launcher's
SLURM launcher, made to survive a lost job) and `hydra/launcher=ray` (jobs as Ray tasks)."""
