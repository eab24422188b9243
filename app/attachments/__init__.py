"""Files attached to an organisation's feedback: upload, delete, download."""
