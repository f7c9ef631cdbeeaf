"""The HTTP service: Segment-compatible ingestion and the REST API (FastAPI)."""
