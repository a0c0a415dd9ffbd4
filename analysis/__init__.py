"""analysis: MLflow / job dirs → pandas; comparison tables; plots; HTML report
(`python -m analysis`, see analysis/README.md)."""
