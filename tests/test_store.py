"""netCDF store: round trip, provenance, atomic writes, clear errors on bad files."""

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from astrocore import store
from astrocore.validation import InvalidParameterError


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


# ------------------------------------------------------------- issue 10, defect 6
def _project_run():
    """A run of the project's shape: step/seed coords, text coords, a scalar, partial and all-NaN variables."""
    cosine = np.array([[np.nan, 0.5, 0.6], [np.nan, 0.1, 0.2]])
    return xr.Dataset(
        {"cost": (("seed", "step"), np.arange(6.0).reshape(2, 3), {"long_name": "cost", "units": "1"}),
         "grad_cosine": (("seed", "step"), cosine),
         "steering_converged": ("seed", [np.nan, np.nan]),  # legitimately all NaN (a model without steering)
         "cost_evaluations": ("step", np.array([0, 5, 10], dtype=np.int64)),
         "vpt_units": ("seed", ["Lyapunov times", "time"]),
         "solved": ("seed", [True, False]),
         "lyapunov_exponent": ((), 0.91, {"units": "1/time"}),
         "started": ("seed", np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[ns]"))},
        coords={"seed": [0, 1], "step": [0, 10, 20], "dataset": "digits", "variant": ("seed", ["authors", "tuned"]),
                "weight_bits": ("seed", [np.nan, 4.0])},
        attrs={"mode": "code", "analog": False, "sizes": [64, 32, 10], "extra": {"a": 1}, "none": None},
    )


def test_the_projects_shape_round_trips(tmp_path):
    run = _project_run()
    ds = store.read_dataset(store.write_dataset(run, tmp_path / "run.nc", config={"x": 1}, seed=[0, 1]),
                            required=["cost", "grad_cosine"])
    assert set(ds.variables) == set(run.variables)
    for name, var in run.variables.items():
        got = ds[name]
        assert got.dims == var.dims, name
        if var.dtype.kind == "f":
            np.testing.assert_array_equal(got.values, var.values, err_msg=name)
        else:
            assert got.values.tolist() == var.values.tolist(), name
        assert got.attrs == var.attrs, name
    assert ds.solved.dtype == bool and ds.started.dtype == run.started.dtype
    assert ds.attrs["analog"] == 0 and ds.attrs["extra"] == '{"a": 1}' and ds.attrs["none"] == "none"
    assert ds.dataset.item() == "digits" and ds.variant.values.tolist() == ["authors", "tuned"]


def test_every_variable_coordinates_included_is_checksummed(tmp_path):
    import h5py

    path = store.write_dataset(_project_run(), tmp_path / "run.nc", compression_level=0)
    with h5py.File(path, "r") as handle:
        variables = dict(store._variables(handle))
        assert {"step", "seed", "variant", "dataset", "cost", "lyapunov_exponent"} <= set(variables)
        for name, dataset in variables.items():
            assert dataset.fletcher32 or store.CHECKSUM_ATTR in dataset.attrs, name
        assert store.CHECKSUM_ATTR in variables["lyapunov_exponent"].attrs  # HDF5 cannot filter a scalar
    assert store.CHECKSUM_ATTR not in store.read_dataset(path).lyapunov_exponent.attrs


def _flip(path, name, nbytes=8):
    import h5py

    with h5py.File(path, "r") as handle:
        dataset = handle[name]
        offset = dataset.id.get_offset() if dataset.chunks is None else dataset.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        data = handle.read(nbytes)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in data))


@pytest.mark.parametrize("name", ["step", "cost", "variant", "lyapunov_exponent"])
@pytest.mark.parametrize("foreign", [False, True])
def test_flipped_bytes_are_a_checksum_mismatch_naming_the_variable(tmp_path, name, foreign):
    path = store.write_dataset(_project_run(), tmp_path / "run.nc")
    _flip(path, name)
    with pytest.raises(store.DataFileError, match=rf"run\.nc: checksum mismatch in variable '{name}'.*rule 'r'"):
        store.read_dataset(path, rule="r", foreign=foreign)


def test_temporary_names_carry_the_writers_pid_and_files_get_the_umasks_mode(tmp_path, monkeypatch):
    seen = []
    real = store.os.replace

    def spy(src, dst):
        seen.append((Path(src).name, oct(Path(src).stat().st_mode & 0o777)))
        return real(src, dst)

    monkeypatch.setattr(store.os, "replace", spy)
    previous = os.umask(0o002)
    try:
        store.write_dataset(_dataset(), tmp_path / "run.nc")
    finally:
        os.umask(previous)
    ((name, mode),) = seen
    assert name.startswith(f".run.nc.{os.getpid()}@{store._host_tag()}.") and name.endswith(".tmp")
    assert mode == oct(0o664)


def test_a_write_failing_after_the_data_removes_its_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "_stamp_scalar_checksums", lambda tmp: (_ for _ in ()).throw(OSError("quota")))
    with pytest.raises(OSError, match="quota"):
        store.write_dataset(_dataset(), tmp_path / "run.nc")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_named_as_a_directory(tmp_path):
    (tmp_path / "out.nc").mkdir()
    with pytest.raises(store.DataFileError, match=r"out\.nc is a directory, not a netCDF file.*rule 'x'"):
        store.read_dataset(tmp_path / "out.nc", rule="x")


def test_a_netcdf3_file_is_named_and_foreign_reads_it(tmp_path):
    path = tmp_path / "classic.nc"
    _dataset().drop_attrs().to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
    with pytest.raises(store.DataFileError,
                       match=r"classic\.nc is a netCDF3 \(classic\) file, but astrocore writes netCDF4/HDF5.*foreign=True"):
        store.read_dataset(path)
    ds = store.read_dataset(path, required="cost", foreign=True)
    np.testing.assert_array_equal(ds.cost.values, _dataset().cost.values)


def test_a_plain_hdf5_file_is_refused_unless_foreign(tmp_path):
    import h5py

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle["cost"] = np.arange(5.0)
    with pytest.raises(store.DataFileError, match=r"plain\.h5 was not written by astrocore.*provenance.*foreign=True"):
        store.read_dataset(path)
    assert store.read_dataset(path, foreign=True).cost.size == 5


def test_a_variable_without_checksum_in_an_astrocore_file_is_refused_unless_foreign(tmp_path):
    path = tmp_path / "old.nc"
    run = _dataset().drop_attrs()
    run.attrs = store.provenance()
    run.to_netcdf(path, engine="h5netcdf")  # as astrocore wrote files before checksums
    with pytest.raises(store.DataFileError, match=r"old\.nc: variable\(s\) \[.*'cost'.*\] carry no checksum.*foreign=True"):
        store.read_dataset(path)
    np.testing.assert_array_equal(store.read_dataset(path, foreign=True).cost.values, _dataset().cost.values)


def test_an_empty_file_is_reported(tmp_path):
    (tmp_path / "empty.nc").write_bytes(b"")
    with pytest.raises(store.DataFileError, match=r"empty\.nc is corrupt or truncated .*the file is empty"):
        store.read_dataset(tmp_path / "empty.nc")


def test_required_as_a_str_is_one_name(tmp_path):
    path = store.write_dataset(_dataset(), tmp_path / "run.nc")
    assert "cost" in store.read_dataset(path, required="cost")
    with pytest.raises(store.DataFileError, match=r"lacks the variable\(s\) \['theta'\]"):
        store.read_dataset(path, required="theta")
    assert "cost" in store.read_dataset(path, required=(n for n in ["cost"]))


def test_nan_rules(tmp_path):
    run = _dataset()
    run["cost"][:] = np.nan
    path = store.write_dataset(run.assign(acc=("seed", [0.5, np.nan])), tmp_path / "run.nc")
    assert "cost" in store.read_dataset(path)  # not required, and acc holds values
    with pytest.raises(store.DataFileError, match=r"run\.nc: the required variable\(s\) \['cost'\] hold only NaN"):
        store.read_dataset(path, required=["acc", "cost"])
    only_nan = store.write_dataset(run, tmp_path / "nan.nc")
    with pytest.raises(store.DataFileError, match=r"nan\.nc: every floating data variable \['cost'\] holds only NaN"):
        store.read_dataset(only_nan)


@pytest.mark.parametrize("kwargs, message", [
    ({"compression_level": 10}, r"compression_level must be an integer in \[0, 9\], got 10"),
    ({"compression_level": -1}, r"compression_level must be an integer in \[0, 9\], got -1"),
    ({"compression_level": 2.5}, r"compression_level must be an integer in \[0, 9\], got 2.5"),
    ({"compression_level": True}, r"compression_level must be an integer in \[0, 9\], got True"),
    ({"compression_level": "4"}, r"compression_level must be an integer in \[0, 9\], got '4'"),
    ({"config": [1, 2]}, r"config must be None or an instance of Mapping, got \[1, 2\]"),
])
def test_write_parameters_are_validated(tmp_path, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        store.write_dataset(_dataset(), tmp_path / "run.nc", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_a_non_dataset_and_a_directory(tmp_path):
    with pytest.raises(TypeError, match=r"ds must be an instance of Dataset, got \{"):
        store.write_dataset({"cost": [1.0]}, tmp_path / "run.nc")
    with pytest.raises(ValueError, match=r"path must be the path of a file to write, but .* is a directory"):
        store.write_dataset(_dataset(), tmp_path)
    with pytest.raises(InvalidParameterError, match=r"path must be a file path"):
        store.write_dataset(_dataset(), None)


def test_compression_level_zero_still_checksums(tmp_path):
    import h5py

    path = store.write_dataset(_dataset(), tmp_path / "run.nc", compression_level=0)
    with h5py.File(path, "r") as handle:
        assert handle["cost"].compression is None and handle["cost"].fletcher32
    np.testing.assert_array_equal(store.read_dataset(path).cost.values, _dataset().cost.values)
