"""Opening a JWST-format FITS file once, after checking from its headers that spec3 can read it.

The checks need only the headers: a file whose last extension ends past the end of the file
(by the sizes its headers declare) is truncated, and is refused before any pixel is read. The
HDU list returned is then handed to stdatamodels, so the data are read from disk once.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from astropy.io import fits

from spec3nb.datamodels.products import MODEL_TYPES, SPECTRUM_TYPES
from spec3nb.errors import InputFileError

_BLOCK = 2880  # bytes in a FITS block


class IndexedHDUList(fits.HDUList):
    """An HDU list that finds an extension by name (and version) without a linear search.

    astropy looks ``hdul["SCI", 7]`` up by reading the ``EXTNAME`` and ``EXTVER`` of every HDU
    before it; stdatamodels does that for every array of a product, which is quadratic in the
    number of extensions (a NIRSpec MOS exposure has over 400). This list keeps a table of
    the first HDU of each name and ``(name, version)``, built once, and rebuilt whenever an
    HDU it points to has moved or been replaced.
    """

    def index_of(self, key: Any) -> int:
        """Index of the HDU named by `key`, as :meth:`astropy.io.fits.HDUList.index_of`."""
        lookup = _name_key(key)
        if lookup is None:
            return super().index_of(key)
        found = self.name_table().get(lookup)
        if found is not None and self._moved(found):
            self._spec3nb_names = None
            found = self.name_table().get(lookup)
        if found is None:
            raise KeyError(f"Extension {key!r} not found.")  # astropy's error
        return found[0]

    def _moved(self, entry: tuple[int, Any]) -> bool:
        index, hdu = entry
        return index >= len(self) or list.__getitem__(self, index) is not hdu

    def name_table(self) -> dict[tuple[str, int | None], tuple[int, Any]]:
        """``{(NAME, ver): (index, hdu)}`` and ``{(NAME, None): ...}`` of the first matches.

        HDUs appended since the last call are added to the table; any other change of the
        list (an HDU removed, inserted or replaced before its end) rebuilds it. Renaming an
        HDU already in the list is not seen: neither stdatamodels nor spec3nb does that.
        """
        cached = getattr(self, "_spec3nb_names", None)
        start, table = 0, {}
        if cached is not None:
            seen, last, table = cached
            if seen == len(self) and (seen == 0 or list.__getitem__(self, seen - 1) is last):
                return table
            if seen < len(self) and (seen == 0 or list.__getitem__(self, seen - 1) is last):
                start = seen
            else:
                table = {}
        for index in range(start, len(self)):
            hdu = list.__getitem__(self, index)
            name = hdu.name
            if isinstance(name, str):
                name = name.strip().upper()
                # The first match wins, as in astropy.
                table.setdefault((name, hdu.ver), (index, hdu))
                table.setdefault((name, None), (index, hdu))
        last = list.__getitem__(self, len(self) - 1) if len(self) else None
        self._spec3nb_names = (len(self), last, table)
        return table


def _name_key(key: Any) -> tuple[str, int | None] | None:
    """``(NAME, ver)`` for a name or ``(name, ver)`` key; None for anything else."""
    if isinstance(key, str):
        name, ver = key, None
    elif (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)
          and isinstance(key[1], int)):
        name, ver = key
    else:
        return None
    name = name.strip().upper()
    # astropy also matches "PRIMARY" to the first HDU whatever its EXTNAME: leave it to astropy.
    return None if name == "PRIMARY" else (name, ver)


def _declared_size(hdul: fits.HDUList) -> int:
    """Bytes the headers of `hdul` say the file holds (end of the last HDU's data)."""
    info = hdul.fileinfo(len(hdul) - 1)
    return int(info["datLoc"]) + int(info["datSpan"])


def _check_start(path: Path) -> None:
    if not path.exists():
        raise InputFileError(path, "no such file")
    if not path.is_file():
        raise InputFileError(path, "not a regular file")
    with open(path, "rb") as handle:
        if handle.read(9) != b"SIMPLE  =":
            raise InputFileError(path, "not a FITS file (it does not start with SIMPLE)")
    if path.stat().st_size % _BLOCK:
        raise InputFileError(path, "truncated: its size is not a whole number of FITS blocks")


def _open_headers(path: Path) -> IndexedHDUList:
    """Read every header of `path` (no data); refuse a file astropy cannot parse."""
    hdul = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = IndexedHDUList.fromfile(path, memmap=False, lazy_load_hdus=False)
            hdul.verify("exception")
    except (OSError, ValueError, TypeError, fits.VerifyError) as exc:
        if hdul is not None:
            hdul.close()
        raise InputFileError(path, f"not a readable FITS file ({exc})") from None
    size, declared = path.stat().st_size, _declared_size(hdul)
    if declared > size:
        hdul.close()
        raise InputFileError(
            path, f"truncated: its headers declare {declared} bytes but it holds {size}")
    truncated = [w for w in caught if "truncated" in str(w.message)]
    if truncated:
        hdul.close()
        raise InputFileError(path, f"not a readable FITS file ({truncated[0].message})")
    return hdul


def _check_content(path: Path, hdul: IndexedHDUList) -> None:
    table = hdul.name_table()
    names = {name for name, ver in table if ver is None and name}
    if "ASDF" not in names:
        # Every JWST pipeline product ends with the ASDF extension that holds its WCS.
        raise InputFileError(path, "no ASDF extension: the file is truncated or was not "
                                   "written by the JWST pipeline")
    model_type = hdul[0].header.get("DATAMODL")
    if model_type is None:
        raise InputFileError(path, "no DATAMODL keyword: not a JWST datamodel file", "PRIMARY")
    if model_type not in MODEL_TYPES:
        raise InputFileError(
            path,
            f"DATAMODL={model_type!r} is not a product spec3 takes "
            f"(expected one of {', '.join(sorted(MODEL_TYPES))})",
            "PRIMARY",
        )
    wanted = {"EXTRACT1D", "COMBINE1D"} if model_type in SPECTRUM_TYPES else {"SCI"}
    if not names & wanted:
        raise InputFileError(path, f"no {' or '.join(sorted(wanted))} extension")


def open_checked(path: Path) -> IndexedHDUList:
    """Open `path` if spec3 can read it: headers read and checked, data not read yet.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    IndexedHDUList
        The open HDU list (``memmap=False``); the caller closes it.

    Raises
    ------
    InputFileError
        If the file is missing, not FITS, truncated (by its size or by the sizes its headers
        declare), has no ``ASDF`` extension, no ``DATAMODL`` or one spec3 cannot take, or no
        ``SCI`` (or spectrum table) extension.
    """
    _check_start(path)
    hdul = _open_headers(path)
    try:
        _check_content(path, hdul)
    except InputFileError:
        hdul.close()
        raise
    return hdul
