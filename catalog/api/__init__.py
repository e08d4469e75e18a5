"""The REST API at ``/api/v1``: aiohttp-pydantic views, one route module per resource."""
