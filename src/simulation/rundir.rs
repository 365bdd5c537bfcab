//! What mgpf writes into an output directory, and the rule for writing there: a non-empty
//! directory is refused unless `--force`, and `--force` first removes what mgpf wrote there
//! earlier, and only that. Left in place, an earlier run's checkpoint would let `--resume`
//! continue the old run over the new one's outputs; a user's own files stay.

use crate::config::presets::Preset;
use crate::error::{Error, Result};
use std::path::Path;

/// The files a run writes at the top of its directory (frames go to `frames/`, field files to
/// `fields/`).
pub const RUN_FILES: [&str; 8] = [
    "metrics.csv",
    "run.json",
    "checkpoint.bin",
    "growth.gif",
    "voltage.png",
    "final.vti",
    "final.vtk",
    "fields.pvd",
];

/// The files `mgpf demo` writes beside its per-preset run directories.
pub const DEMO_FILES: [&str; 3] = ["compare.gif", "compare.png", "voltage.png"];

/// Every file is written to `<name>.tmp` first and renamed (`output::write_atomic`).
const TEMPORARY: &str = ".tmp";

/// Refuses a non-empty directory unless `force`; with `force`, removes what an earlier run wrote
/// there. Then creates the directory and its `frames/`.
pub fn prepare_output_dir(dir: &Path, force: bool) -> Result<()> {
    refuse_non_empty(dir, force)?;
    if force {
        remove_run_outputs(dir)?;
    }
    create(&dir.join("frames"))
}

/// The same rule for `mgpf demo`: with `force`, removes an earlier demo's files and, in each
/// preset's directory, what its run wrote (a directory left empty goes too).
pub fn prepare_demo_dir(dir: &Path, force: bool) -> Result<()> {
    refuse_non_empty(dir, force)?;
    if force {
        for preset in Preset::ALL {
            let run_dir = dir.join(preset.name());
            remove_run_outputs(&run_dir)?;
            remove_if_empty(&run_dir)?;
        }
        for name in DEMO_FILES {
            remove_written(&dir.join(name))?;
        }
    }
    create(dir)
}

/// Removes the temporary files a killed run can leave (`<output>.tmp`), so that none outlives
/// the run that resumes it.
pub fn remove_temporaries(dir: &Path) -> Result<()> {
    for name in RUN_FILES {
        remove_file(&dir.join(format!("{name}{TEMPORARY}")))?;
    }
    let temporaries = |path: &Path, temporary: bool| {
        if temporary {
            remove_file(path)
        } else {
            Ok(())
        }
    };
    for_each_frame(dir, temporaries)?;
    for_each_field_file(dir, temporaries)
}

fn refuse_non_empty(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !force {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
        if non_empty {
            return Err(Error::OutputNotEmpty(dir.to_path_buf()));
        }
    }
    Ok(())
}

/// Removes [`RUN_FILES`] and `frames/frame_NNNNNN.png`, each with its temporary file, and
/// `frames/` if that leaves it empty.
fn remove_run_outputs(dir: &Path) -> Result<()> {
    for name in RUN_FILES {
        remove_written(&dir.join(name))?;
    }
    for_each_frame(dir, |path, _| remove_file(path))?;
    for_each_field_file(dir, |path, _| remove_file(path))?;
    remove_if_empty(&dir.join("frames"))?;
    remove_if_empty(&dir.join("fields"))
}

/// Calls `f(path, is_temporary)` for each frame file in `dir/frames` (none if there is no such
/// directory).
fn for_each_frame(dir: &Path, f: impl FnMut(&Path, bool) -> Result<()>) -> Result<()> {
    for_each_written(dir, "frames", |rest| rest == ".png", f)
}

/// Calls `f(path, is_temporary)` for each field file in `dir/fields`: frame_NNNNNN.vti,
/// frame_NNNNNN.vtk and frame_NNNNNN_<field>.npy.
fn for_each_field_file(dir: &Path, f: impl FnMut(&Path, bool) -> Result<()>) -> Result<()> {
    let ours = |rest: &str| {
        rest == ".vti"
            || rest == ".vtk"
            || rest
                .strip_prefix('_')
                .and_then(|r| r.strip_suffix(".npy"))
                .is_some_and(|field| field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    };
    for_each_written(dir, "fields", ours, f)
}

/// Calls `f(path, is_temporary)` for each file `frame_<6+ digits><rest>` in `dir/sub` whose
/// `rest` is `ours` (none if there is no such directory).
fn for_each_written(
    dir: &Path,
    sub: &str,
    ours: impl Fn(&str) -> bool,
    mut f: impl FnMut(&Path, bool) -> Result<()>,
) -> Result<()> {
    let frames = dir.join(sub);
    let entries = match std::fs::read_dir(&frames) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&frames, e)),
    };
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&frames, e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else { continue };
        let (stem, temporary) = match name.strip_suffix(TEMPORARY) {
            Some(stem) => (stem, true),
            None => (name.as_str(), false),
        };
        let is_frame = stem.strip_prefix("frame_").is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits >= 6 && ours(&rest[digits..])
        });
        if is_frame && path.is_file() {
            f(&path, temporary)?;
        }
    }
    Ok(())
}

/// Removes `path` and its temporary file.
fn remove_written(path: &Path) -> Result<()> {
    remove_file(path)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(TEMPORARY);
    remove_file(Path::new(&temporary))
}

/// Removes a file; one that is not there is fine.
fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Removes a directory that is empty; one that is not there, or holds something, stays as is.
fn remove_if_empty(dir: &Path) -> Result<()> {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if empty {
        std::fs::remove_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

fn create(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}
