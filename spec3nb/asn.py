"""Level-3 spectroscopic associations: read, validate, build, write; name spec3 products.

Standard library only, so the notebook can check an association without numpy or astropy.
Members are resolved relative to the association's folder, as in jwst; unlike jwst, they may
not leave that folder (absolute names, ``..``, symlinks) unless the caller allows it.
"""

from __future__ import annotations

import json
import os
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from spec3nb.errors import AssociationError, InputFileError, OutputError

__all__ = [
    "EXPTYPES",
    "SPEC3_EXPTYPES",
    "Association",
    "Member",
    "association_from_files",
    "format_product",
    "product_name",
    "read_association",
    "slit_name_string",
    "source_id_string",
    "write_association",
]

#: Every member ``exptype`` a Level-3 association may hold (lower case).
EXPTYPES: tuple[str, ...] = tuple(
    "science background psf imprint target_acquisition autoflat autowave".split()
)
#: The member types calwebb_spec3 actually uses; the others are read but ignored.
SPEC3_EXPTYPES: tuple[str, ...] = ("science", "background")

# Optional top-level string fields that get their own attribute on `Association`.
_HEADER_KEYS = ("asn_type", "asn_rule", "asn_id", "program", "target", "asn_pool")
_FILE_LIST = "<file list>"


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Member:
    """One exposure of an association.

    Attributes
    ----------
    expname : str
        The member name exactly as written in the association.
    exptype : str
        Member type, lower case, one of `EXPTYPES`.
    path : pathlib.Path
        Absolute, resolved path of the exposure file.
    extra : Mapping
        Any other keys of the member entry (``exposerr``, ``asn_candidate``, ``group_id``...).
    """

    expname: str
    exptype: str
    path: Path
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        exptype = str(self.exptype).lower()
        if exptype not in EXPTYPES:
            raise ValueError(f"unknown exptype {self.exptype!r}; known: {', '.join(EXPTYPES)}")
        object.__setattr__(self, "exptype", exptype)
        object.__setattr__(self, "path", Path(self.path).resolve())
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))


@dataclass(frozen=True)
class Association:
    """A Level-3 association reduced to what spec3 needs (``products[0]`` only).

    Attributes
    ----------
    path : pathlib.Path or None
        Absolute path of the association file, or None when built from a list of files.
    product_name : str
        The product-name template as written (may hold ``{source_id}``/``{slit_name}``).
    members : tuple of Member
        All members of ``products[0]``, in file order, whatever their exptype.
    asn_id, asn_pool, asn_type, asn_rule, program, target : str or None
        The optional top-level fields of the same name.
    extra : Mapping
        The other top-level keys (``version_id``, ``constraints``, ``code_version``...).
    """

    path: Path | None
    product_name: str
    members: tuple[Member, ...]
    asn_id: str | None = None
    asn_pool: str | None = None
    asn_type: str | None = None
    asn_rule: str | None = None
    program: str | None = None
    target: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))
        if self.path is not None:
            object.__setattr__(self, "path", Path(self.path).absolute())

    @property
    def science(self) -> tuple[Member, ...]:
        """The ``science`` members, in file order."""
        return tuple(m for m in self.members if m.exptype == "science")

    @property
    def background(self) -> tuple[Member, ...]:
        """The ``background`` members, in file order."""
        return tuple(m for m in self.members if m.exptype == "background")

    @property
    def folder(self) -> Path | None:
        """Folder the members are resolved against (None without an association file)."""
        return None if self.path is None else self.path.parent

    @property
    def table_name(self) -> str | None:
        """Base name of the association file (the ``ASNTABLE`` value), or None."""
        return None if self.path is None else self.path.name


def _load_json(path: Path) -> dict[str, Any]:
    """Parse the association file; every failure becomes an `AssociationError`."""
    if not path.exists():
        raise AssociationError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise AssociationError(path, f"not UTF-8 text ({err.reason})") from err
    except OSError as err:
        raise AssociationError(path, f"cannot read the file ({err.strerror or err})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        problem = f"malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        raise AssociationError(path, problem) from err
    if not isinstance(data, dict):
        raise AssociationError(path, f"top level is a JSON {_json_kind(data)}, not an object")
    return data


def _json_kind(value: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _first_product(path: Path, data: Mapping[str, Any]) -> tuple[Any, list[Any]]:
    """Return ``(name, members)`` of ``products[0]`` after checking their shape."""
    products = data.get("products")
    if not isinstance(products, list) or not products:
        problem = "has no 'products'" if products is None else "'products' is empty or not a list"
        raise AssociationError(path, problem)
    product = products[0]
    if not isinstance(product, dict):
        raise AssociationError(path, "products[0] is not an object")
    members = product.get("members")
    if not isinstance(members, list) or not members:
        what = "has no 'members'" if members is None else "has empty or non-list 'members'"
        raise AssociationError(path, f"products[0] {what}")
    return product.get("name"), members


def _check_product_name(where: object, name: object, allow_outside: bool) -> str:
    """Validate a product-name template; `where` names the association for the message."""
    if not isinstance(name, str) or not name:
        raise AssociationError(where, "products[0] has no 'name' (the output product name)")
    if not allow_outside and ("/" in name or "\\" in name or ".." in name):
        problem = f"product name {name!r} contains a path separator or '..'"
        raise AssociationError(where, problem)
    return name


def _resolve_member(
    path: Path, folder: Path, where: str, expname: str, allow_outside: bool
) -> Path:
    """Resolve `expname` against `folder`, refusing escapes unless `allow_outside`."""
    if Path(expname).is_absolute() and not allow_outside:
        raise AssociationError(path, f"{where}: expname {expname!r} is an absolute path")
    try:
        resolved = (folder / expname).resolve()
        base = folder.resolve()
    except (OSError, RuntimeError) as err:
        raise AssociationError(path, f"{where}: cannot resolve {expname!r} ({err})") from err
    if not allow_outside and not resolved.is_relative_to(base):
        problem = f"{where}: expname {expname!r} resolves to {resolved}, outside {base}"
        raise AssociationError(path, problem)
    return resolved


def _read_member(
    path: Path, folder: Path, index: int, raw: object, *, allow_outside: bool, check_files: bool
) -> Member:
    """Validate one entry of ``products[0].members`` and build its `Member`."""
    where = f"products[0].members[{index}]"
    if not isinstance(raw, dict):
        raise AssociationError(path, f"{where} is not an object")
    for key in ("expname", "exptype"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise AssociationError(path, f"{where} has no '{key}' (or it is not a string)")
    expname, exptype = raw["expname"], raw["exptype"]
    if exptype.lower() not in EXPTYPES:
        problem = f"{where}: unknown exptype {exptype!r}; known: {', '.join(EXPTYPES)}"
        raise AssociationError(path, problem)
    resolved = _resolve_member(path, folder, where, expname, allow_outside)
    if check_files and not resolved.is_file():
        what = "is not a regular file" if resolved.exists() else "does not exist"
        raise AssociationError(path, f"{where}: member file {expname!r} ({resolved}) {what}")
    extra = {k: v for k, v in raw.items() if k not in ("expname", "exptype")}
    return Member(expname=expname, exptype=exptype, path=resolved, extra=extra)


def read_association(
    path: str | os.PathLike[str], *, allow_outside: bool = False, check_files: bool = True
) -> Association:
    """Read and validate a Level-3 association JSON file.

    Only ``products[0]`` is used, as jwst does; any further products are ignored.  All
    members are kept whatever their exptype; `Association.science` and
    `Association.background` select the ones spec3 uses.

    Parameters
    ----------
    path : str or os.PathLike
        The association file.
    allow_outside : bool, optional
        Allow members outside the association's folder (absolute names, ``..``, symlinks
        leading out) and product names holding path separators or ``..``.
    check_files : bool, optional
        Require every member file to exist.

    Returns
    -------
    Association
        The validated association; member paths are absolute and resolved.

    Raises
    ------
    AssociationError
        One error per problem, naming the file and, for members, ``products[0].members[i]``.
    """
    asn_path = Path(path).absolute()
    data = _load_json(asn_path)
    name, raw_members = _first_product(asn_path, data)
    name = _check_product_name(asn_path, name, allow_outside)
    folder = asn_path.parent
    members = tuple(
        _read_member(asn_path, folder, i, raw, allow_outside=allow_outside, check_files=check_files)
        for i, raw in enumerate(raw_members)
    )
    header: dict[str, str | None] = {}
    for key in _HEADER_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise AssociationError(asn_path, f"'{key}' must be a string, not {_json_kind(value)}")
        header[key] = value
    extra = {k: v for k, v in data.items() if k not in (*_HEADER_KEYS, "products")}
    return Association(asn_path, name, members, extra=extra, **header)


def _default_product_name(filename: Path) -> str:
    """Name cut at its first ``.``, minus its last ``_suffix`` (``a_b_cal.fits`` -> ``a_b``)."""
    # jwst gives "" when there is no "_" at all; the root itself is more useful.
    root = Path(filename).name.split(".")[0]
    head, sep, _ = root.rpartition("_")
    return head if sep else root


def association_from_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    product_name: str | None = None,
    exptypes: Sequence[str] | None = None,
    check_files: bool = True,
) -> Association:
    """Build an association from a list of exposure files.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        The exposure files, in order (the first one decides the mode in spec3).
    product_name : str or None, optional
        Product-name template.  Default, as jwst names a list of exposures: the first file's
        name cut at its first ``.``, minus its last ``_suffix`` (``a_nrs1_cal.fits`` ->
        ``a_nrs1``; a name without ``_`` is kept whole, where jwst would give ``""``).
    exptypes : sequence of str or None, optional
        One exptype per file (case-insensitive); default all ``science``.
    check_files : bool, optional
        Require every file to exist.

    Returns
    -------
    Association
        An association with ``path=None`` whose members hold absolute paths.

    Raises
    ------
    AssociationError
        No files, wrong number of exptypes, unknown exptype, or path separator in the name.
    InputFileError
        A missing file (when `check_files`).
    """
    files = [Path(p) for p in paths]
    if not files:
        raise AssociationError(_FILE_LIST, "no input files given")
    types = ["science"] * len(files) if exptypes is None else [str(t) for t in exptypes]
    if len(types) != len(files):
        problem = f"{len(types)} exptypes given for {len(files)} files"
        raise AssociationError(_FILE_LIST, problem)
    members = []
    for file, exptype in zip(files, types, strict=True):
        if exptype.lower() not in EXPTYPES:
            problem = f"unknown exptype {exptype!r} for {file}; known: {', '.join(EXPTYPES)}"
            raise AssociationError(_FILE_LIST, problem)
        resolved = file.resolve()
        if check_files and not resolved.is_file():
            raise InputFileError(file, "file not found" if not resolved.exists() else "not a file")
        members.append(Member(expname=str(resolved), exptype=exptype, path=resolved))
    name = _default_product_name(files[0]) if product_name is None else product_name
    name = _check_product_name(_FILE_LIST, name, allow_outside=False)
    return Association(None, name, tuple(members))


def _association_json(asn: Association, folder: Path) -> dict[str, Any]:
    """The JSON document of `asn`, member names relative to `folder` when inside it."""
    doc: dict[str, Any] = {"asn_type": asn.asn_type or "spec3"}
    for key in _HEADER_KEYS[1:]:
        value = getattr(asn, key)
        if value is not None:
            doc[key] = value
    # jwst's ModelContainer needs 'asn_pool' (KeyError without it); asn_from_list writes "none".
    doc.setdefault("asn_pool", "none")
    doc.update({k: v for k, v in asn.extra.items() if k not in doc and k != "products"})
    members = []
    for member in asn.members:
        try:
            expname = member.path.relative_to(folder).as_posix()
        except ValueError:
            expname = str(member.path)
        entry = {"expname": expname, "exptype": member.exptype}
        entry.update({k: v for k, v in member.extra.items() if k not in entry})
        members.append(entry)
    doc["products"] = [{"name": asn.product_name, "members": members}]
    return doc


def write_association(
    asn: Association, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write `asn` as Level-3 association JSON, atomically.

    Members inside the target's folder are written relative to it, others as absolute paths
    (reading those back needs ``allow_outside=True``).  ``asn_type`` defaults to ``"spec3"``,
    ``asn_pool`` to ``"none"`` (jwst 3.0.0 cannot open an association without it).

    Parameters
    ----------
    asn : Association
        The association to write.
    path : str or os.PathLike
        Target file.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        Absolute path of the written file.

    Raises
    ------
    OutputError
        The target exists (without `overwrite`), is a folder, or its folder does not exist.
    """
    target = Path(path).absolute()
    if target.is_dir():
        raise OutputError(f"{target}: is a folder, not an association file")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: exists; pass overwrite=True to replace it")
    if not target.parent.is_dir():
        raise OutputError(f"{target}: folder {target.parent} does not exist")
    text = json.dumps(_association_json(asn, target.parent.resolve()), indent=4) + "\n"
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write ({err.strerror or err})") from err
    return target


class _PartialFormatter(string.Formatter):
    """`str.format` that keeps unknown named fields as ``{name}`` and records used names."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not isinstance(key, str):
            raise ValueError("product-name templates take named fields only, not '{}' or '{0}'")
        self.seen.add(key)
        if key not in kwargs:
            return "{" + key + "}"
        value = kwargs[key]
        return "" if value is None else value


def _preformat(key: str, value: Any) -> str | None:
    """Turn a value to text the way jwst's Level-3 ``format_product`` does before filling."""
    if value is None:
        return None
    text = str(value)
    return text.rjust(2, "0") if key == "expspcin" else text


def format_product(template: str, **values: Any) -> str:
    """Fill a product-name template exactly as jwst 3.0.0's Level-3 ``format_product`` does.

    * Every value is turned into text with `str` (``expspcin`` is also zero-padded to 2).
    * Named fields with a value are filled; format specs and conversions apply as in
      `str.format`.
    * A field without a value stays as ``{field}`` text (the spec then applies to that text).
    * A value of None fills its field with an empty string and is never appended.
    * Values without a field are appended, each after ``_``, in sorted key order (not in
      argument order): ``format_product("test", source_id="s000000002")`` gives
      ``"test_s000000002"``.
    * Doubled braces become single ones (``{{x}}`` -> ``{x}``).

    No lower-casing happens here (nor anywhere in jwst's spec3 pipeline); see `product_name`.

    Parameters
    ----------
    template : str
        The template, e.g. ``jw01345-o066_{source_id}_nirspec_f170lp-g235m``.
    **values : Any
        Field values (``source_id``, ``slit_name``...).

    Returns
    -------
    str
        The filled name.

    Raises
    ------
    ValueError
        A positional field (``{}``, ``{0}``), a malformed template or a bad format spec.
    """
    texts = {key: _preformat(key, value) for key, value in values.items()}
    formatter = _PartialFormatter()
    filled = formatter.vformat(template, (), texts)
    appended = [texts[k] for k in sorted(texts) if k not in formatter.seen and texts[k] is not None]
    return "_".join([filled, *appended])


def product_name(template: str, **values: Any) -> str:
    """Name a spec3 product the way the jwst 3.0.0 pipeline does in total: `format_product`.

    ``Spec3Pipeline`` does not lower-case product names; jwst's association generator
    lower-cases the template when it writes it, and the pipeline lower-cases NIRSpec slit
    names (`slit_name_string`).  A hand-written template therefore keeps its case.

    Parameters
    ----------
    template : str
        The product-name template.
    **values : Any
        Field values, typically ``source_id`` (see `source_id_string`) and ``slit_name``.

    Returns
    -------
    str
        The product name, used as the base of every output file name.
    """
    return format_product(template, **values)


def source_id_string(source_id: int, *, exp_type: str, source_name: str | None = None) -> str:
    """Source identifier used in spec3 product names (``s000000002``).

    NIRSpec MOS (``NRS_MSASPEC``): ``b`` if `source_name` contains ``"BKG"`` (case-sensitive),
    else ``v`` + digits for a negative (virtual-slit) id, else ``s``.  Other modes (FS,
    WFSS): ``s``.  Digits are zero-padded to 9, never truncated.  `exp_type` (that of the
    first member, as in jwst) is compared case-insensitively.

    Parameters
    ----------
    source_id : int
        The slit's source id.
    exp_type : str
        EXP_TYPE of the first member, e.g. ``NRS_MSASPEC``.
    source_name : str or None, optional
        The slit's source name (MOS only).

    Returns
    -------
    str
        The prefixed, zero-padded identifier.
    """
    digits = str(source_id)
    if exp_type.upper() == "NRS_MSASPEC":
        if source_name is not None and "BKG" in source_name:
            return "b" + digits.rjust(9, "0")
        if source_id < 0:
            return "v" + digits[1:].rjust(9, "0")
    return "s" + digits.rjust(9, "0")


def slit_name_string(slit_names: Iterable[str]) -> str:
    """The ``{slit_name}`` value of a NIRSpec fixed-slit source, as spec3 builds it.

    Lower-cased names, first one first, then each other distinct name in order, joined by
    ``-`` (``["S200A2", "S200A1", "S200A2"]`` -> ``"s200a2-s200a1"``).

    Parameters
    ----------
    slit_names : iterable of str
        The slit names of the source's exposures, in container order.

    Returns
    -------
    str
        The joined slit name.
    """
    unique: list[str] = []
    for name in slit_names:
        if name.lower() not in unique:
            unique.append(name.lower())
    return "-".join(unique)
