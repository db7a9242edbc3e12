"""NRR pipeline: Net and Gross Revenue Retention from your own billing data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nrr-pipeline")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
