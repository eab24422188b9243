"""Council reports: request, progress, result."""
