"""The model manifest: read, checked against its schema and its semantics, typed."""

DEFAULT_MANIFEST = "mlops.yaml"  # what -f defaults to, known without loading the loader
