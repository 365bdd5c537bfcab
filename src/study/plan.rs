//! A study's directory: its definition (sweep.json), each point's config, and for a cluster the
//! command line of each point (`commands.txt`, one `mgpf run` per line, for GNU parallel) and a
//! SLURM job-array script that runs line `SLURM_ARRAY_TASK_ID + 1` of it. No scheduler of our
//! own: the cluster's does the distribution, and `mgpf sweep --collect DIR` gathers the results.

use super::points::{Study, POINT_CONFIG, STUDY_FILE};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output::write_atomic;
use std::path::Path;

/// One command line per point.
pub const COMMANDS_FILE: &str = "commands.txt";
/// The SLURM job-array script.
pub const SLURM_FILE: &str = "slurm.sh";

/// Writes sweep.json and every point's config.toml into `dir`. A directory that already holds a
/// study is accepted only if it is this one (every point's config the same), so that re-running
/// a sweep continues it and never mixes two studies; any other non-empty directory is refused.
pub fn prepare(dir: &Path, study: &Study, configs: &[Config]) -> Result<()> {
    let holds_files = dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
    if holds_files && !dir.join(STUDY_FILE).exists() {
        return Err(Error::Other(format!(
            "{} is not empty and holds no {STUDY_FILE}: give a new or empty --out for the study",
            dir.display()
        )));
    }
    let texts: Vec<String> = configs.iter().map(Config::to_toml_string).collect();
    for (point, text) in study.points.iter().zip(&texts) {
        let path = dir.join(&point.dir).join(POINT_CONFIG);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if existing != *text {
                return Err(Error::Other(format!(
                    "{} is not the config of {} in this study: {} holds another study (give another --out, or remove it)",
                    path.display(),
                    study.describe(point),
                    dir.display()
                )));
            }
        }
    }
    if holds_files {
        let old = Study::read(dir)?;
        if old.points.len() != study.points.len() {
            return Err(Error::Other(format!(
                "{} holds a study of {} points, this one has {}: give another --out, or remove it",
                dir.display(),
                old.points.len(),
                study.points.len()
            )));
        }
    }
    for (point, text) in study.points.iter().zip(&texts) {
        let point_dir = dir.join(&point.dir);
        std::fs::create_dir_all(&point_dir).map_err(|e| Error::io(&point_dir, e))?;
        let path = point_dir.join(POINT_CONFIG);
        if !path.exists() {
            write_atomic(&path, text.as_bytes())?;
        }
    }
    study.write(dir)
}

/// The `mgpf run` command line of each point (paths as `dir` is written, so run from the
/// directory the plan was made in).
pub fn commands(dir: &Path, study: &Study, backend: &str) -> Vec<String> {
    study
        .points
        .iter()
        .map(|p| {
            let point_dir = dir.join(&p.dir);
            format!(
                "mgpf run {} --out {} --force --backend {backend}",
                shell_word(&point_dir.join(POINT_CONFIG).display().to_string()),
                shell_word(&point_dir.display().to_string())
            )
        })
        .collect()
}

/// Writes commands.txt and slurm.sh.
pub fn write_plan(dir: &Path, study: &Study, backend: &str) -> Result<()> {
    let lines = commands(dir, study, backend);
    write_atomic(
        &dir.join(COMMANDS_FILE),
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let script = format!(
        "#!/bin/bash\n\
         # One point of the mgpf sweep in {dir} per array task: line SLURM_ARRAY_TASK_ID + 1 of\n\
         # {commands}. Submit with `sbatch {slurm}`; set the resources below to your cluster's.\n\
         # When the tasks are done: `mgpf sweep --collect {dir}`.\n\
         #SBATCH --job-name=mgpf-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=1\n\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         cd {cwd}\n\
         line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {commands})\n\
         eval \"$line\"\n",
        dir = dir.display(),
        commands = shell_word(&dir.join(COMMANDS_FILE).display().to_string()),
        slurm = shell_word(&dir.join(SLURM_FILE).display().to_string()),
        last = study.points.len().saturating_sub(1),
        cwd = shell_word(&cwd.display().to_string()),
    );
    write_atomic(&dir.join(SLURM_FILE), script.as_bytes())
}

/// `s` quoted for a POSIX shell where it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn words_are_quoted_only_where_needed() {
        assert_eq!(shell_word("out/sweep/points/3"), "out/sweep/points/3");
        assert_eq!(shell_word("my runs/a"), "'my runs/a'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
