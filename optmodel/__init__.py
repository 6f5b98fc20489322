"""optmodel: industrial-strategy optimisation (rare earths in Russia), Excel in, Excel out."""

__version__ = "0.1.0"
OUTPUT_SCHEMA_VERSION = "1.0"
