"""netCDF store: round trip, provenance, atomic writes, clear errors on bad files."""

import numpy as np
import pytest
import xarray as xr

from astrocore import store


def _dataset():
    return xr.Dataset(
        {"cost": (("seed", "step"), np.arange(6.0).reshape(2, 3), {"long_name": "cost", "units": "1"})},
        coords={"seed": [0, 1], "step": [0, 10, 20]},
        attrs={"mode": "code", "analog": False, "sizes": [64, 32, 10], "extra": {"a": 1}, "none": None},
    )


def test_round_trip_keeps_values_and_adds_provenance(tmp_path):
    path = store.write_dataset(_dataset(), tmp_path / "sub" / "run.nc", config={"x": 1}, seed=[0, 1])
    ds = store.read_dataset(path, required=["cost"])
    np.testing.assert_array_equal(ds.cost.values, _dataset().cost.values)
    for key in store.PROVENANCE_KEYS:
        assert key in ds.attrs
    assert ds.attrs["config_hash"] == store.config_hash({"x": 1})
    assert ds.attrs["seed"] == "[0, 1]" and ds.attrs["backend"] == "numpy"
    assert ds.attrs["analog"] == 0 and list(ds.attrs["sizes"]) == [64, 32, 10]
    assert ds.cost.attrs["units"] == "1"


def test_config_hash_is_order_independent():
    assert store.config_hash({"a": 1, "b": [2, 3]}) == store.config_hash({"b": [2, 3], "a": 1})
    assert store.config_hash({"a": 1}) != store.config_hash({"a": 2})


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "run.nc"
    store.write_dataset(_dataset(), target)
    before = target.read_bytes()

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        store.write_dataset(_dataset(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]


def test_missing_file_names_the_file_and_rule(tmp_path):
    with pytest.raises(store.DataFileError, match=r"missing\.nc does not exist.*rule 'mgd_parity'"):
        store.read_dataset(tmp_path / "missing.nc", rule="mgd_parity")


def test_corrupt_file_is_reported(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"this is not netCDF")
    with pytest.raises(store.DataFileError, match="bad.nc is corrupt or truncated"):
        store.read_dataset(bad)


def test_truncated_file_is_reported(tmp_path):
    path = store.write_dataset(_dataset(), tmp_path / "run.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(store.DataFileError, match="corrupt or truncated"):
        store.read_dataset(path)


def test_missing_variable_is_reported(tmp_path):
    path = store.write_dataset(_dataset(), tmp_path / "run.nc")
    with pytest.raises(store.DataFileError, match=r"lacks the variable\(s\) \['test_accuracy'\]"):
        store.read_dataset(path, required=["cost", "test_accuracy"])
