"""The FastAPI application: ``create_app(settings)`` builds it; routes stay thin."""
