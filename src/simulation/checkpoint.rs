//! Checkpoints: everything a run needs to continue bit for bit, in one file written atomically.
//!
//! Layout of `checkpoint.bin` (format 2): the magic `MGPFCKPT`, a little-endian u32 format
//! version, a u64 header length, the header as JSON (progress of the time loop, the backend's
//! scalars, the field names, shape and SHA-256s, the resolved config and its SHA-256), the
//! SHA-256 of the version, length and header bytes (32 bytes), then each field as nx·ny
//! little-endian f32 in the header's order. Every byte is under a checksum: the header's own,
//! and through it each field's, so one flipped bit is refused, naming the damaged section.
//! Format 1 (no checksums, mgpf before them) is still read, unchecked.

use super::SecondHalfCharge;
use crate::backend::BackendState;
use crate::backend::StepReport;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::grid::{Field, Real};
use crate::model::metrics::MetricsRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// File name of the checkpoint in a run's output directory.
pub const FILE_NAME: &str = "checkpoint.bin";
const MAGIC: &[u8; 8] = b"MGPFCKPT";
const FORMAT: u32 = 2;
/// The format without checksums, still read.
const FORMAT_UNCHECKED: u32 = 1;
const DIGEST_LEN: usize = 32;

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
    /// The second half's ∫ E dq so far; None in a checkpoint written before it was recorded.
    #[serde(default)]
    pub second_half: Option<SecondHalfCharge>,
    /// (frame index, time in s) of each frame whose field files are written (fields.pvd lists
    /// them); empty in a checkpoint written before field series.
    #[serde(default)]
    pub field_frames: Vec<(u32, f64)>,
    /// Where a `[cycling]` schedule stands (None: a run without one).
    #[serde(default)]
    pub cycling: Option<super::cycling::CyclingState>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    mgpf_version: String,
    config_sha256: String,
    config_toml: String,
    nx: usize,
    ny: usize,
    /// 1 in 2D, where it is left out (a 2D checkpoint reads as before the third axis).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    nz: usize,
    fields: Vec<String>,
    /// SHA-256 (hex) of each field's bytes, in `fields`' order (empty in format 1).
    #[serde(default)]
    field_sha256: Vec<String>,
    scalars: Vec<(String, f64)>,
    progress: Progress,
    /// The interphase's heterogeneity is keyed by physical position (false in a checkpoint
    /// written before: its field was keyed by cell index, and this mgpf cannot rebuild it).
    #[serde(default)]
    heterogeneity_by_position: bool,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
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
    sha256_hex(cfg.to_toml_string().as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (hex) of a field's little-endian f32 bytes in row-major order (as written), hashed a
/// block at a time so that no second copy of the field is made.
fn field_sha256(field: &Field) -> String {
    let mut hasher = Sha256::new();
    let standard = field.as_standard_layout();
    let mut block = Vec::with_capacity(4 * 4096);
    for values in standard.as_slice().expect("standard layout").chunks(4096) {
        block.clear();
        values
            .iter()
            .for_each(|v| block.extend_from_slice(&v.to_le_bytes()));
        hasher.update(&block);
    }
    hex(&hasher.finalize())
}

/// Writes `dir/checkpoint.bin` atomically (temp file + rename): a crash or a second Ctrl-C
/// leaves the previous checkpoint intact.
pub fn write(dir: &Path, cfg: &Config, progress: &Progress, state: &BackendState) -> Result<()> {
    let (nx, ny, nz) = state
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
        nz,
        fields: state.fields.iter().map(|(n, _)| n.clone()).collect(),
        field_sha256: state.fields.iter().map(|(_, f)| field_sha256(f)).collect(),
        scalars: state.scalars.clone(),
        progress: progress.clone(),
        heterogeneity_by_position: true,
    };
    let json = serde_json::to_vec(&header).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let data_len = state.fields.len() * nx * ny * 4;
    let mut bytes = Vec::with_capacity(20 + json.len() + DIGEST_LEN + data_len);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    let header_digest = Sha256::digest(&bytes[8..]);
    bytes.extend_from_slice(&header_digest);
    for (_, field) in &state.fields {
        field
            .as_standard_layout()
            .iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
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
    if format != FORMAT && format != FORMAT_UNCHECKED {
        return Err(bad(&format!(
            "format {format}, this mgpf reads formats {FORMAT_UNCHECKED} and {FORMAT}"
        )));
    }
    let checked = format == FORMAT;
    let damaged = |section: &str| {
        bad(&format!(
            "damaged: the {section} fails its SHA-256 check, so this checkpoint cannot be \
             resumed; start the run again"
        ))
    };
    let json_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    let json_end = 20usize
        .checked_add(json_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated header"))?;
    let data_start = if checked {
        let end = json_end
            .checked_add(DIGEST_LEN)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| bad("truncated header"))?;
        if Sha256::digest(&bytes[8..json_end])[..] != bytes[json_end..end] {
            return Err(damaged("header"));
        }
        end
    } else {
        json_end
    };
    let header: Header = serde_json::from_slice(&bytes[20..json_end])
        .map_err(|e| bad(&format!("unreadable header: {e}")))?;
    if !header.heterogeneity_by_position {
        let heterogeneous = Config::from_toml_str(&header.config_toml, &path.display().to_string())
            .map(|cfg| {
                let layer = cfg.interphase.resolve();
                layer.heterogeneity_sigma_ln > 0.0 || layer.blocked_fraction > 0.0
            })
            .unwrap_or(true);
        if heterogeneous {
            return Err(bad(
                "written by an mgpf that keyed the interphase's heterogeneity by cell index; this \
                 one keys it by physical position (docs/model.md, Heterogeneity), so the run's \
                 layer would change under it: start the run again",
            ));
        }
    }
    if checked && header.field_sha256.len() != header.fields.len() {
        return Err(bad(&format!(
            "{} field checksums for {} fields",
            header.field_sha256.len(),
            header.fields.len()
        )));
    }
    let cells = header.nx * header.ny * header.nz;
    let expected = data_start + header.fields.len() * cells * 4;
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
        let start = data_start + k * cells * 4;
        let data = &bytes[start..start + cells * 4];
        if checked && sha256_hex(data) != header.field_sha256[k] {
            return Err(damaged(&format!("field `{name}`")));
        }
        let values: Vec<Real> = data
            .chunks_exact(4)
            .map(|b| Real::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let field = Field::from_shape_vec((header.nx, header.ny, header.nz), values)
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
