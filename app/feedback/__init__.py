"""Organisations' structured feedback on items."""
