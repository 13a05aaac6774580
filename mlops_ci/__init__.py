"""mlops-ci: ship machine-learning models through Git."""

__version__ = "0.1.0"
