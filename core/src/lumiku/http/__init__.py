"""The HTTP edge: declared endpoints, the JSON converter, the error shape and OpenAPI."""
