"""Corpus building: synthetic speech, recorded sets, texts and lexicons."""
