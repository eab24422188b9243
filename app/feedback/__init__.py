"""Organisations' structured feedback on items: drafting and submitting (`services`), files
(`attachments`), joint submissions (`cosigning`) and the read models of an organisation's
feedback (`read_models`). Pages: `views`, `attachment_views`, `cosigning_views`."""
