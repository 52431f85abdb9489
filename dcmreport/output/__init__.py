"""Rendering: JSON lines or rich text, and the JSON form of every record."""
