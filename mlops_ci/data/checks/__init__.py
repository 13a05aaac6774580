"""The data checks of ``data[].checks``: one module per kind, ``registry.CHECKS`` lists them,
``scan.check_table`` runs them all over a table in one streaming read."""
