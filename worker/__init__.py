"""The Celery worker: the Flask app bound to Celery, and thin tasks over the services."""
