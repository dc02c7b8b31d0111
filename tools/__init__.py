"""Project tools: corpus, training, export, benchmarks; run as python -m tools.NAME."""
