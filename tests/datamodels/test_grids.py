"""Reading the output grid file of resample_spec's output_wcs."""

from __future__ import annotations

import asdf
import pytest

from spec3nb.datamodels.grids import read_output_grid
from spec3nb.errors import InputFileError
from tests.factories import direct_slit_wcs


def test_reads_the_wcs_and_its_pixel_size(tmp_path) -> None:
    path = tmp_path / "grid.asdf"
    wcs = direct_slit_wcs((40, 12), dispaxis=2)
    asdf.AsdfFile({"wcs": wcs, "pixel_scale": 0.11, "array_shape": [40, 12]}).write_to(path)
    grid = read_output_grid(path)
    assert grid["pixel_scale"] == 0.11 and list(grid["array_shape"]) == [40, 12]
    assert grid["pixel_area"] is None
    assert grid["wcs"](3.0, 5.0) == pytest.approx(wcs(3.0, 5.0))


@pytest.mark.parametrize("content, problem", [
    (None, "output_wcs file not found"),
    (b"not asdf at all", "not an ASDF file"),
    ({"pixel_scale": 0.1}, "no 'wcs' entry"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, problem) -> None:
    path = tmp_path / "grid.asdf"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        asdf.AsdfFile(content).write_to(path)
    with pytest.raises(InputFileError, match=problem) as caught:
        read_output_grid(path)
    assert str(path) in str(caught.value)
