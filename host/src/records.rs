//! Records: a run's every directive and statistics as one JSON file (`--records FILE`), so
//! runs made on different machines (shards of a suite on CI runners, a board on the runner
//! its probe is attached to) are joined afterwards (`tandem merge`) and compared
//! (`tandem parity --from-records`).
//!
//! The schema is [`Records`], named and versioned by its `schema` field
//! ([`SCHEMA`]); `docs/RECORDS.md` describes it field by field. A reader refuses another
//! version rather than guess. Each suite lists every file of the plan (`planned`, in the
//! plan's order, whether this run ran it or not), so shards of one plan can be told from
//! shards of different plans, and merged records come out in the order one run gives.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::{FileReport, SuiteReport, write_atomically};
use crate::shard::Shard;
use crate::suite::{Plan, selected};

/// The schema this build writes and reads.
pub const SCHEMA: &str = "tandem-records/1";

/// One run's records (or several runs' merged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    /// [`SCHEMA`].
    pub schema: String,
    /// The target the files ran on (`sim`, `qemu`, `probe` ...).
    pub target: String,
    /// The board profile whose limits applied, if the target said.
    pub board: Option<String>,
    /// The shards these records hold (`K/N` each), empty for a whole run.
    pub shards: Vec<String>,
    /// The suites, in the plan's order.
    pub suites: Vec<SuiteRecords>,
}

/// One suite's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteRecords {
    /// The suite's label, as reports show it.
    pub label: String,
    /// Every file of the plan's suite (after its filter), in the plan's order.
    pub planned: Vec<String>,
    /// The reports of the files these records hold, in the plan's order.
    pub files: Vec<FileReport>,
}

/// Why records could not be read, written or merged.
#[derive(Debug)]
pub enum RecordsError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not records in this schema's JSON.
    Json {
        /// The file.
        path: PathBuf,
        /// What the parser says, with line and column.
        source: serde_json::Error,
    },
    /// Records of another schema (or version).
    Schema {
        /// The file.
        path: PathBuf,
        /// Its `schema` field.
        found: String,
    },
    /// Records that cannot be merged: another target, board or plan.
    Mismatch(String),
    /// A file that two of the merged records both hold.
    Duplicate(String),
    /// Files the plan holds that none of the merged records ran: how many, and the first.
    Missing {
        /// How many.
        count: usize,
        /// The first few.
        first: Vec<String>,
    },
}

impl fmt::Display for RecordsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RecordsError::Json { path, source } => {
                write!(f, "{} is not Tandem records: {source}", path.display())
            }
            RecordsError::Schema { path, found } => write!(
                f,
                "{} holds records of schema `{found}`; this tandem reads `{SCHEMA}`",
                path.display()
            ),
            RecordsError::Mismatch(why) => write!(f, "the records do not belong together: {why}"),
            RecordsError::Duplicate(file) => {
                write!(f, "{file} is in more than one of the records (overlapping shards?)")
            }
            RecordsError::Missing { count, first } => write!(
                f,
                "{count} planned file(s) are in none of the records (a shard missing, or a run \
                 interrupted?): {}",
                first.join(", ")
            ),
        }
    }
}

impl std::error::Error for RecordsError {}

impl Records {
    /// The records of `reports`, a run of `plan`'s shard `shard` (or of all of it) on
    /// `target` with `board`'s limits.
    pub fn new(
        target: &str,
        board: Option<&str>,
        shard: Option<Shard>,
        plan: &Plan,
        reports: &[SuiteReport],
    ) -> Records {
        let filter = plan.filter.as_deref();
        let suites = plan
            .suites
            .iter()
            .zip(reports)
            .map(|((_, files), report)| SuiteRecords {
                label: report.label.clone(),
                planned: files
                    .iter()
                    .filter(|f| selected(f, filter))
                    .map(|f| f.name.clone())
                    .collect(),
                files: report.files.clone(),
            })
            .collect();
        Records {
            schema: SCHEMA.to_owned(),
            target: target.to_owned(),
            board: board.map(str::to_owned),
            shards: shard.iter().map(Shard::to_string).collect(),
            suites,
        }
    }

    /// Reads records from `path`, refusing another schema.
    pub fn read(path: &Path) -> Result<Records, RecordsError> {
        let io = |source| RecordsError::Io { path: path.to_owned(), source };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let json = |source| RecordsError::Json { path: path.to_owned(), source };
        // The schema first: another version's fields need not parse as this one's.
        #[derive(Deserialize)]
        struct Header {
            schema: String,
        }
        let header: Header = serde_json::from_str(&text).map_err(json)?;
        if header.schema != SCHEMA {
            return Err(RecordsError::Schema { path: path.to_owned(), found: header.schema });
        }
        serde_json::from_str(&text).map_err(json)
    }

    /// Writes the records to `path` ([`write_atomically`]: never a torn file).
    pub fn write(&self, path: &Path) -> Result<(), RecordsError> {
        let text = serde_json::to_string_pretty(self).expect("records serialize");
        write_atomically(path, &(text + "\n"))
            .map_err(|source| RecordsError::Io { path: path.to_owned(), source })
    }

    /// The suites' reports, for parity, totals and JUnit.
    pub fn reports(&self) -> Vec<SuiteReport> {
        let report =
            |s: &SuiteRecords| SuiteReport { label: s.label.clone(), files: s.files.clone() };
        self.suites.iter().map(report).collect()
    }

    /// Joins records of one target and plan (its shards): every planned file must be in
    /// exactly one of them. The result holds each suite's files in the plan's order.
    pub fn merge(parts: Vec<Records>) -> Result<Records, RecordsError> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Err(RecordsError::Mismatch("no records to merge".into()));
        };
        let mut merged = Records { suites: Vec::new(), ..first.clone() };
        // Per suite, file name -> report.
        let mut found: Vec<BTreeMap<String, FileReport>> = Vec::new();
        for suite in &first.suites {
            merged.suites.push(SuiteRecords { files: Vec::new(), ..suite.clone() });
            found.push(BTreeMap::new());
        }
        merged.shards.clear();
        for part in std::iter::once(first).chain(parts) {
            if (&part.target, &part.board) != (&merged.target, &merged.board) {
                return Err(RecordsError::Mismatch(format!(
                    "target {} ({}) and target {} ({})",
                    merged.target,
                    merged.board.as_deref().unwrap_or("no board"),
                    part.target,
                    part.board.as_deref().unwrap_or("no board")
                )));
            }
            let plan = |r: &[SuiteRecords]| -> Vec<(String, Vec<String>)> {
                r.iter().map(|s| (s.label.clone(), s.planned.clone())).collect()
            };
            if plan(&part.suites) != plan(&merged.suites) {
                return Err(RecordsError::Mismatch(
                    "they ran different plans (other suites, files or filter)".into(),
                ));
            }
            merged.shards.extend(part.shards);
            for (suite, found) in part.suites.into_iter().zip(&mut found) {
                for file in suite.files {
                    if found.contains_key(&file.name) {
                        return Err(RecordsError::Duplicate(file.name));
                    }
                    found.insert(file.name.clone(), file);
                }
            }
        }
        let mut missing = Vec::new();
        for (suite, found) in merged.suites.iter_mut().zip(&mut found) {
            for name in &suite.planned {
                match found.remove(name) {
                    Some(file) => suite.files.push(file),
                    None => missing.push(name.clone()),
                }
            }
        }
        if !missing.is_empty() {
            let count = missing.len();
            missing.truncate(3);
            return Err(RecordsError::Missing { count, first: missing });
        }
        Ok(merged)
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::{Features, SimTarget};

    fn plan() -> Plan {
        let names = ["spec:tail-call".to_owned(), "spec:v1".to_owned()];
        Plan::new(&names, Features::WASM2, Some("call".into()), &Default::default()).unwrap()
    }

    fn run(plan: &Plan, shard: Option<Shard>) -> Records {
        let part = match shard {
            Some(shard) => plan.shard(shard).unwrap(),
            None => plan.clone(),
        };
        let reports = part.run(&mut SimTarget::new(), &mut ()).unwrap();
        Records::new("sim", Some("desktop"), shard, plan, &reports)
    }

    #[test]
    fn shards_merge_into_the_whole_runs_records() {
        let plan = plan();
        let whole = run(&plan, None);
        assert!(whole.suites.iter().all(|s| !s.files.is_empty()));
        let parts: Vec<Records> =
            (1..=3).map(|index| run(&plan, Some(Shard { index, count: 3 }))).collect();
        let merged = Records::merge(parts.clone()).unwrap();
        assert_eq!(merged.shards, ["1/3", "2/3", "3/3"]);
        assert_eq!(Records { shards: Vec::new(), ..merged }, whole);

        // Through files, as runners hand them over.
        let dir = std::env::temp_dir().join(format!("tandem-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("part.json");
        parts[0].write(&path).unwrap();
        assert_eq!(Records::read(&path).unwrap(), parts[0]);

        // One shard twice, one missing, another target, another schema.
        let twice = Records::merge(vec![parts[0].clone(), parts[0].clone()]).unwrap_err();
        assert!(matches!(twice, RecordsError::Duplicate(_)), "{twice}");
        let missing = Records::merge(vec![parts[0].clone(), parts[2].clone()]).unwrap_err();
        assert!(missing.to_string().contains("in none of the records"), "{missing}");
        let qemu = Records { target: "qemu".into(), ..parts[1].clone() };
        let mixed = Records::merge(vec![parts[0].clone(), qemu]).unwrap_err();
        assert!(mixed.to_string().contains("target sim (desktop) and target qemu"), "{mixed}");
        std::fs::write(&path, r#"{"schema": "tandem-records/2", "suites": 3}"#).unwrap();
        let other = Records::read(&path).unwrap_err().to_string();
        assert!(other.contains("schema `tandem-records/2`; this tandem reads"), "{other}");
        std::fs::write(&path, "{").unwrap();
        assert!(Records::read(&path).unwrap_err().to_string().contains("is not Tandem records"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
