"""Joint submissions: inviting other organisations to co-sign, and answering their requests."""
