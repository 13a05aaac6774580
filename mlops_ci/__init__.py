"""mlops-ci: ship machine-learning models through Git."""

# The release this is; scripts/release sets it, pyproject.toml reads it.
__version__ = "1.0.0"
