"""The one compiled part of mlops-ci: the ingest checks' inner loops (mlops_ci/data/_kernels.c).

Everything else is in pyproject.toml. The extension is optional: where no C compiler is
at hand the install still succeeds and mlops_ci/data/kernels.py runs its pure-Python
equivalents, slower by the figures in benchmarks/README.md.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mlops_ci.data._kernels",
            sources=["mlops_ci/data/_kernels.c"],
            optional=True,
        )
    ]
)
