"""Fuzzing harnesses (atheris) and their targets."""
