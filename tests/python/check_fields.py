"""Reads an mgpf run's field files with the tools researchers use, and checks them against the
numbers the run states (called by tests/fields.rs with the run directory and what to expect).

    python3 tests/python/check_fields.py RUN_DIR NX NY NZ DX_M

Checks: every fields/frame_NNNNNN.vti and final.vti with the Python `vtk` package (extents,
spacing in metres, the four cell arrays, TimeValue and charge as field data against
metrics.csv's time and charge); fields.pvd lists every frame with its time; every .npy with
numpy (shape (nx, ny, nz), float32, C order) equals the matching VTK array; every legacy
fields/frame_NNNNNN.vtk and final.vtk (`run.save_fields` "vtk") read by meshio (nx·ny·nz
hexahedra, the points' spacing in metres, the cell arrays equal to the .vti's) and by `vtk`
(vtkStructuredPointsReader: dimensions, spacing, TimeValue and charge as field data). meshio
has no reader for VTK ImageData (.vti): it is checked to say so, so this script notices the
day it gains one. Prints what it checked; exits non-zero on the first mismatch.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy

run, nx, ny, nz, dx = sys.argv[1], *map(int, sys.argv[2:5]), float(sys.argv[5])
FIELDS = ["order_parameter", "concentration", "potential", "plating_rate"]


def read_vti(path):
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(path)
    reader.Update()
    image = reader.GetOutput()
    assert image.GetNumberOfCells() == nx * ny * nz, (path, image.GetNumberOfCells())
    extent = image.GetExtent()
    assert extent == (0, nx, 0, ny, 0, nz), (path, extent)
    spacing = image.GetSpacing()
    assert all(abs(s - dx) <= 1e-12 * dx for s in spacing), (path, spacing, dx)
    cells = image.GetCellData()
    arrays = {}
    for name in FIELDS:
        data = cells.GetArray(name)
        assert data is not None, (path, name)
        # VTK order: x fastest; as (nx, ny, nz) C order.
        arrays[name] = vtk_to_numpy(data).reshape((nz, ny, nx)).transpose(2, 1, 0)
    field = image.GetFieldData()
    time = vtk_to_numpy(field.GetArray("TimeValue"))[0]
    charge = vtk_to_numpy(field.GetArray("charge_c_m2"))[0]
    return arrays, time, charge


metrics = np.genfromtxt(os.path.join(run, "metrics.csv"), delimiter=",", names=True)
times = set(np.round(metrics["time_s"], 6))
frames = sorted(glob.glob(os.path.join(run, "fields", "frame_*.vti")))
assert frames, "no fields/frame_*.vti"
pvd = ET.parse(os.path.join(run, "fields.pvd")).getroot()
listed = [(float(d.get("timestep")), d.get("file")) for d in pvd.iter("DataSet")]
assert [f for _, f in listed] == [os.path.relpath(f, run) for f in frames], listed
for (pvd_time, _), path in zip(listed, frames):
    arrays, time, charge = read_vti(path)
    assert abs(time - pvd_time) <= 1e-9 * max(1.0, abs(time)), (path, time, pvd_time)
    assert round(time, 6) in times, (path, time)
    row = np.argmin(abs(metrics["time_s"] - time))
    assert abs(charge - metrics["charge_c_m2"][row]) <= 1e-6 * max(1.0, abs(charge)), (path, charge)
    stem = path[: -len(".vti")]
    for name in FIELDS:
        npy = f"{stem}_{name}.npy"
        if os.path.exists(npy):
            a = np.load(npy)
            assert a.shape == (nx, ny, nz) and a.dtype == np.float32, (npy, a.shape, a.dtype)
            assert a.flags["C_CONTIGUOUS"]
            assert np.array_equal(a, arrays[name], equal_nan=True), npy
    print(f"{os.path.relpath(path, run)}: vtk reads {nx}x{ny}x{nz} cells, spacing {dx:g} m, "
          f"t = {time:g} s, q = {charge:g} C/m2; npy equal: {os.path.exists(stem + '_order_parameter.npy')}")
arrays, time, charge = read_vti(os.path.join(run, "final.vti"))
print(f"final.vti: vtk reads it, t = {time:g} s")

import meshio


def check_legacy(path, want, want_time, want_charge):
    """A legacy .vtk against the .vti's arrays and stamp, with meshio and with vtk."""
    mesh = meshio.read(path)
    assert len(mesh.cells) == 1 and mesh.cells[0].type in ("hexahedron", "quad"), mesh.cells
    assert len(mesh.cells[0].data) == nx * ny * nz, (path, len(mesh.cells[0].data))
    points = mesh.points
    assert abs(points[:, 0].max() - nx * dx) <= 1e-9 * nx * dx, (path, points[:, 0].max())
    assert abs(points[:, 1].max() - ny * dx) <= 1e-9 * ny * dx, (path, points[:, 1].max())
    step = np.diff(np.unique(points[:, 0]))
    assert np.allclose(step, dx, rtol=1e-9), (path, step[:3])
    for name in FIELDS:
        values = np.asarray(mesh.cell_data[name][0]).reshape(-1)
        # meshio's cells are VTK's, x fastest: as (nx, ny, nz) C order.
        got = values.reshape((nz, ny, nx)).transpose(2, 1, 0)
        assert np.array_equal(got, want[name], equal_nan=True), (path, name)
    reader = vtk.vtkStructuredPointsReader()
    reader.SetFileName(path)
    reader.ReadAllFieldsOn()
    reader.ReadAllScalarsOn()
    reader.Update()
    image = reader.GetOutput()
    assert image.GetDimensions() == (nx + 1, ny + 1, nz + 1), image.GetDimensions()
    assert all(abs(s - dx) <= 1e-12 * dx for s in image.GetSpacing()), image.GetSpacing()
    field = image.GetFieldData()
    time = vtk_to_numpy(field.GetArray("TimeValue"))[0]
    charge = vtk_to_numpy(field.GetArray("charge_c_m2"))[0]
    assert time == want_time and charge == want_charge, (path, time, charge)
    print(f"{os.path.relpath(path, run)}: meshio reads {nx * ny * nz} {mesh.cells[0].type} "
          f"cells and the arrays equal the .vti's; vtk reads t = {time:g} s, q = {charge:g} C/m2")


legacy = sorted(glob.glob(os.path.join(run, "fields", "frame_*.vtk")))
for path in legacy:
    want, want_time, want_charge = read_vti(path[: -len(".vtk")] + ".vti")
    check_legacy(path, want, want_time, want_charge)
if legacy:
    final = os.path.join(run, "final.vtk")
    check_legacy(final, arrays, time, charge)

try:
    meshio.read(frames[0])
    print("meshio now reads .vti: check its arrays here")
    sys.exit(3)
except Exception as e:  # meshio.ReadError: unknown file format
    print(f"meshio {meshio.__version__}: no .vti reader ({type(e).__name__}: {e})")
print(f"OK: {len(frames)} frames, fields.pvd, final.vti, {len(legacy)} legacy .vtk frames"
      + (" and final.vtk" if legacy else ""))
