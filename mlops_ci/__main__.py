"""``python -m mlops_ci``, the same as the ``mlops-ci`` command."""

from mlops_ci.cli.main import entry_point

entry_point()
