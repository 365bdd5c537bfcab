//! Studies: many runs of one config over varied keys and seeds (`mgpf sweep`). What a study is
//! (`points`: the grid or zip of `--vary` values, the seeds, sweep.json), the `--vary` grammar
//! (`spec`), what its runs ended with (`table`: sweep.csv and the ensembles' ensemble.csv, with
//! `stats` for the spread), the directory and the cluster plan (`plan`), and the map and montage
//! (`pictures`; with only `run.seed` varied there is no axis, and no picture). Running the points is the CLI's (`cli::sweep`), which builds the backends.

pub mod fit;
pub mod pictures;
pub mod plan;
pub mod points;
pub mod spec;
pub mod stats;
pub mod table;
