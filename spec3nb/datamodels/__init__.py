"""In-memory products and the JWST file I/O (the only layer that reads or writes files)."""

from spec3nb.datamodels.io import from_datamodel, read_product, to_datamodel, write_product
from spec3nb.datamodels.products import MODEL_TYPES, Part, Product

__all__ = [
    "MODEL_TYPES",
    "Part",
    "Product",
    "from_datamodel",
    "read_product",
    "to_datamodel",
    "write_product",
]
