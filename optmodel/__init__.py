"""optmodel: industrial-strategy optimisation (rare earths in Russia), Excel in, Excel out."""

__version__ = "0.1.0"
# 1.1: Trade realised and market prices, support; the state's view in the Summary
OUTPUT_SCHEMA_VERSION = "1.1"
