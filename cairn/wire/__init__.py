"""What travels on the wire of ``/api/v1``: its request and response bodies, as pydantic models.

The API layer reads requests into these models and writes responses from them, and FastAPI
draws the OpenAPI document from the same classes, so the document cannot drift from what the
server does. The SDK reads its answers into them too. One module per noun; ``base`` holds what
they share. These models know nothing of HTTP and of the services: they are shapes, built
from ``cairn.domain`` records (each response model's ``of``) and handed to the services as
plain values by the routes.
"""
