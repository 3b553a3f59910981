"""Output file names, as jwst 3.0.0 gives them.

Per-exposure products are named after their input (``<input root>_<suffix>.fits``, with the
association id before ``crf``); combined and per-source products after the association's
product-name template with ``{source_id}`` and ``{slit_name}`` filled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from spec3nb.asn import format_product, slit_name_string, source_id_string
from spec3nb.datamodels.products import Product
from spec3nb.errors import OutputError

#: Product suffixes of Stage 1-3 files that are removed to find a file's root name.
KNOWN_SUFFIXES: tuple[str, ...] = (
    "uncal", "ramp", "rate", "rateints", "cal", "calints", "bsub", "bsubints", "crf",
    "crfints", "s2d", "s3d", "x1d", "x1dints", "c1d", "mbsub", "median", "blot", "i2d",
    "masterbg1d", "masterbg2d", "outlier_s2d", "pixel_replace", "assign_mtwcs",
)
_SUFFIX_RE = re.compile(
    r"^(?P<root>.+?)(?:[_-](?:" + "|".join(sorted(KNOWN_SUFFIXES, key=len, reverse=True))
    + r"))?$"
)


def file_root(filename: str) -> str:
    """Return a file's base name without its extension and its known product suffix.

    Parameters
    ----------
    filename : str
        ``jw01_00001_nrs1_cal.fits``.

    Returns
    -------
    str
        ``jw01_00001_nrs1``.
    """
    base = filename.rsplit("/", 1)[-1]
    for ext in (".fits.gz", ".fits", ".fit", ".json", ".asdf"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
            break
    match = _SUFFIX_RE.match(base)
    return match.group("root") if match else base


def source_fields(key: str, source: Product, exp_type: str | None) -> dict[str, str]:
    """Return the template fields of a per-source product.

    Parameters
    ----------
    key : str
        The source key from exp_to_source.
    source : Product
        The source-based product.
    exp_type : str or None
        ``EXP_TYPE`` of the association's first science member (jwst names FS slits inside
        MOS exposures with the MOS rule, because it looks at the first member).

    Returns
    -------
    dict[str, str]
        ``{"source_id": "s000000002", "slit_name": "s200a1"}`` (slit_name for FS only).
    """
    if exp_type == "NRS_FIXEDSLIT":
        return {
            "source_id": source_id_string(key, exp_type=exp_type),
            "slit_name": slit_name_string(str(p.attrs.get("name", "")) for p in source.parts),
        }
    if exp_type == "NRS_MSASPEC":
        first = source.parts[0].attrs
        return {
            "source_id": source_id_string(
                first.get("source_id"), exp_type=exp_type, source_name=first.get("source_name")
            )
        }
    return {"source_id": source_id_string(key, exp_type=exp_type or "")}


def check_file_name(name: str) -> str:
    """Refuse a product name that would leave the output folder.

    Parameters
    ----------
    name : str
        A file name.

    Returns
    -------
    str
        `name`, when it is a plain file name.

    Raises
    ------
    OutputError
        If it contains a path separator, is empty, or is ``.``/``..``.
    """
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise OutputError(f"product name {name!r} is not a plain file name")
    return name


def exposure_output_name(input_name: str, suffix: str, asn_id: str | None = None) -> str:
    """Return the name of a per-exposure product (``_crf`` gets the association id).

    Parameters
    ----------
    input_name : str
        The input file's name.
    suffix : str
        The new suffix.
    asn_id : str, optional
        The association id (``o001``), inserted before ``crf`` as jwst does.

    Returns
    -------
    str
        The file name.
    """
    root = file_root(input_name)
    if suffix == "crf" and asn_id:
        root = f"{root}_{asn_id}"
    return check_file_name(f"{root}_{suffix}.fits")


def product_output_name(template: str, suffix: str, fields: dict[str, str] | None = None) -> str:
    """Return the name of a combined or per-source product.

    Parameters
    ----------
    template : str
        The association's product-name template.
    suffix : str
        The suffix.
    fields : dict[str, str], optional
        Template fields (``source_id``, ``slit_name``).

    Returns
    -------
    str
        The file name.
    """
    name = format_product(template, **(fields or {})) if fields else template
    return check_file_name(f"{name}_{suffix}.fits")


def unique_names(names: Sequence[str]) -> None:
    """Raise OutputError when two outputs of one run would get the same file name."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise OutputError(f"two outputs would both be written to {name}")
        seen.add(name)
