"""Command-line tools: one module per command (decode, eval, rtf)."""
