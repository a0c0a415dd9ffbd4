"""One module per dataset kind (`dataset.kind=<module name>`), each registering its schema in
`sweeper.datasets.base.DATASET_KINDS`; `sweeper.datasets` imports them all."""
