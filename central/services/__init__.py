"""The server's use cases, on a SQLAlchemy connection; routers stay thin over them."""
