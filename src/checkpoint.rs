//! Checkpoints: everything a run needs to continue bit for bit, in one file written atomically.
//!
//! Layout of `checkpoint.bin`: the magic `MGPFCKPT`, a little-endian u32 format version, a u64
//! header length, the header as JSON (progress of the time loop, the backend's scalars, the
//! field names and shape, the resolved config and its SHA-256), then each field as nx·ny
//! little-endian f32 in the header's order.

use crate::backend::BackendState;
use crate::backend::StepReport;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::grid::{Field, Real};
use crate::run::MetricsRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// File name of the checkpoint in a run's output directory.
pub const FILE_NAME: &str = "checkpoint.bin";
const MAGIC: &[u8; 8] = b"MGPFCKPT";
const FORMAT: u32 = 1;

/// Where the time loop stands: enough to continue its outputs exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Index of the next step to take.
    pub step: u64,
    pub time_s: f64,
    pub charge_c_m2: f64,
    /// Ions in through the bulk face so far (c/c0 · µm² per unit depth).
    pub inflow: f64,
    /// Frames written so far (frames/frame_NNNNNN.png for NNNNNN below this).
    pub frame_index: u32,
    pub last: Option<StepReport>,
    pub rows: Vec<MetricsRow>,
    /// metrics.csv as written so far (header included).
    pub csv: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    mgpf_version: String,
    config_sha256: String,
    config_toml: String,
    nx: usize,
    ny: usize,
    fields: Vec<String>,
    scalars: Vec<(String, f64)>,
    progress: Progress,
}

/// A checkpoint read back: the config it was written for, the loop's progress and the state.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub config_sha256: String,
    pub config_toml: String,
    pub progress: Progress,
    pub state: BackendState,
}

/// SHA-256 (hex) of the resolved config as TOML: what a resumed run must match.
pub fn config_hash(cfg: &Config) -> String {
    let digest = Sha256::digest(cfg.to_toml_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `dir/checkpoint.bin` atomically (temp file + rename): a crash or a second Ctrl-C
/// leaves the previous checkpoint intact.
pub fn write(dir: &Path, cfg: &Config, progress: &Progress, state: &BackendState) -> Result<()> {
    let (nx, ny) = state
        .fields
        .first()
        .map(|(_, f)| f.dim())
        .ok_or_else(|| Error::Checkpoint("a backend state without fields".into()))?;
    let header = Header {
        mgpf_version: env!("CARGO_PKG_VERSION").into(),
        config_sha256: config_hash(cfg),
        config_toml: cfg.to_toml_string(),
        nx,
        ny,
        fields: state.fields.iter().map(|(n, _)| n.clone()).collect(),
        scalars: state.scalars.clone(),
        progress: progress.clone(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let mut bytes = Vec::with_capacity(20 + json.len() + state.fields.len() * nx * ny * 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for (_, field) in &state.fields {
        let standard = field.as_standard_layout();
        for &v in standard.iter() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    crate::output::write_atomic(&dir.join(FILE_NAME), &bytes)
}

/// Reads `dir/checkpoint.bin`.
pub fn read(dir: &Path) -> Result<Checkpoint> {
    let path = dir.join(FILE_NAME);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::Checkpoint(format!(
            "{}: {e} (a run writes one every run.checkpoint_every_steps steps or run.checkpoint_every_minutes minutes, and on Ctrl-C)",
            path.display()
        ))
    })?;
    let bad = |what: &str| Error::Checkpoint(format!("{}: {what}", path.display()));
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err(bad("not an mgpf checkpoint"));
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if format != FORMAT {
        return Err(bad(&format!(
            "format {format}, this mgpf reads format {FORMAT}"
        )));
    }
    let json_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    let json_end = 20usize
        .checked_add(json_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated header"))?;
    let header: Header = serde_json::from_slice(&bytes[20..json_end])
        .map_err(|e| bad(&format!("unreadable header: {e}")))?;
    let cells = header.nx * header.ny;
    let expected = json_end + header.fields.len() * cells * 4;
    if bytes.len() != expected {
        return Err(bad(&format!(
            "{} bytes, expected {expected} for {} fields of {} × {}",
            bytes.len(),
            header.fields.len(),
            header.nx,
            header.ny
        )));
    }
    let mut fields = Vec::with_capacity(header.fields.len());
    for (k, name) in header.fields.iter().enumerate() {
        let start = json_end + k * cells * 4;
        let values: Vec<Real> = bytes[start..start + cells * 4]
            .chunks_exact(4)
            .map(|b| Real::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let field = Field::from_shape_vec((header.nx, header.ny), values)
            .map_err(|e| bad(&e.to_string()))?;
        fields.push((name.clone(), field));
    }
    Ok(Checkpoint {
        config_sha256: header.config_sha256,
        config_toml: header.config_toml,
        progress: header.progress,
        state: BackendState {
            fields,
            scalars: header.scalars,
        },
    })
}
