"""Pure analysis functions over plain data: no Flask, no database session."""
