"""Public pages: consultations, items, published feedback and tallies."""
