//! Comparing two targets' results directive by directive (parity).
//!
//! Both runs must have gone through the same scripts, so files align by name and
//! records by index. Any difference in a record's verdict or observation, in a
//! file's target-independent statistics ([`PortableStats`]), or a file or record
//! present on one side only, is a [`Mismatch`]. Target-dependent figures (heap,
//! native stack, ticks) are not compared: they differ by design.

use std::fmt::{self, Write as _};

use crate::report::{FileReport, PortableStats, Record, SuiteReport, Verdict};

/// One difference between the two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The file it is in.
    pub file: String,
    /// The directive's line; 0 for a whole-file difference (missing file, stats).
    pub line: usize,
    /// The directive kind, or `file` / `stats` for whole-file differences.
    pub kind: String,
    /// What the first target observed (or `(missing)`).
    pub a: String,
    /// What the second target observed (or `(missing)`).
    pub b: String,
}

/// The outcome of [`compare`]: every mismatch, and how much was compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParityReport {
    /// The first target's name.
    pub a_name: String,
    /// The second target's name.
    pub b_name: String,
    /// Files present on either side.
    pub files: usize,
    /// Records present on either side.
    pub records: usize,
    /// Every difference, in file and line order.
    pub mismatches: Vec<Mismatch>,
}

const MISSING: &str = "(missing)";

/// Compares two runs of the same suite, `a` by target `a_name` and `b` by `b_name`.
pub fn compare(a: &SuiteReport, b: &SuiteReport, a_name: &str, b_name: &str) -> ParityReport {
    let mut report = ParityReport {
        a_name: a_name.to_owned(),
        b_name: b_name.to_owned(),
        files: 0,
        records: 0,
        mismatches: Vec::new(),
    };
    let find = |suite: &'_ SuiteReport, name: &str| -> Option<usize> {
        suite.files.iter().position(|f| f.name == name)
    };
    for file_a in &a.files {
        report.files += 1;
        match find(b, &file_a.name) {
            Some(i) => compare_files(&mut report, file_a, &b.files[i]),
            None => report.push_file(&file_a.name, "present".into(), MISSING.into()),
        }
    }
    for file_b in b.files.iter().filter(|f| find(a, &f.name).is_none()) {
        report.files += 1;
        report.push_file(&file_b.name, MISSING.into(), "present".into());
    }
    report
}

/// Compares several suites run by two targets, aligning suites by label (a suite
/// run on one side only makes all its files mismatches).
pub fn compare_suites(
    a: &[SuiteReport],
    b: &[SuiteReport],
    a_name: &str,
    b_name: &str,
) -> ParityReport {
    let mut total = compare(&SuiteReport::default(), &SuiteReport::default(), a_name, b_name);
    let empty = |label: &str| SuiteReport { label: label.to_owned(), files: Vec::new() };
    let by_label = |suites: &[SuiteReport], label: &str| {
        suites.iter().find(|s| s.label == label).cloned().unwrap_or_else(|| empty(label))
    };
    let labels = a.iter().map(|s| &s.label);
    let extra = b.iter().map(|s| &s.label).filter(|l| !a.iter().any(|s| &s.label == *l));
    for label in labels.chain(extra) {
        let part = compare(&by_label(a, label), &by_label(b, label), a_name, b_name);
        total.files += part.files;
        total.records += part.records;
        total.mismatches.extend(part.mismatches);
    }
    total
}

/// Directives counted once across targets: (passed, failed). A directive passed when it
/// passed on every target with the same observation; it failed when it failed anywhere or
/// the targets disagree on it; skipped on every target alike, it counts as neither. A
/// directive one target ran and another did not (a missing file or record) is failed.
pub fn directive_totals(runs: &[&[SuiteReport]]) -> (usize, usize) {
    let Some((first, others)) = runs.split_first() else { return (0, 0) };
    let first_files = files_of(first);
    let other_files: Vec<Vec<&FileReport>> = others.iter().map(|run| files_of(run)).collect();
    let (mut passed, mut failed) = (0, 0);
    for (i, file) in first_files.iter().enumerate() {
        let peers: Vec<Option<&FileReport>> = other_files
            .iter()
            .map(|other| other.get(i).copied().filter(|f| f.name == file.name))
            .collect();
        let longest =
            peers.iter().flatten().map(|f| f.records.len()).fold(file.records.len(), usize::max);
        for r in 0..longest {
            let mine = file.records.get(r);
            let theirs: Vec<Option<&Record>> =
                peers.iter().map(|p| p.and_then(|f| f.records.get(r))).collect();
            let agree = mine.is_some() && theirs.iter().all(|t| *t == mine);
            match mine {
                Some(rec) if agree && rec.verdict == Verdict::Pass => passed += 1,
                Some(rec) if agree && rec.verdict == Verdict::Skip => {}
                _ => failed += 1,
            }
        }
    }
    // Files only the other targets have are directives the first never ran.
    for other in &other_files {
        failed += other.iter().skip(first_files.len()).map(|f| f.records.len()).sum::<usize>();
    }
    (passed, failed)
}

/// Every file of a run, in order.
fn files_of(run: &[SuiteReport]) -> Vec<&FileReport> {
    run.iter().flat_map(|suite| suite.files.iter()).collect()
}

fn compare_files(report: &mut ParityReport, a: &FileReport, b: &FileReport) {
    let skip = |f: &FileReport| f.file_skip.as_ref().map(|s| format!("skipped: {}", s.reason));
    if skip(a) != skip(b) {
        let show = |f: &FileReport| skip(f).unwrap_or_else(|| "run".into());
        report.push_file(&a.name, show(a), show(b));
    }
    for i in 0..a.records.len().max(b.records.len()) {
        report.records += 1;
        let (ra, rb) = (a.records.get(i), b.records.get(i));
        if ra == rb {
            continue;
        }
        let at = ra.or(rb).expect("one side has record i");
        // Name the directive on each side too when the scripts themselves differ.
        let differs_in_place =
            matches!((ra, rb), (Some(x), Some(y)) if (x.line, &x.kind) != (y.line, &y.kind));
        let verdicts_differ = ra.map(|r| r.verdict) != rb.map(|r| r.verdict);
        let show = |r: Option<&Record>| match r {
            None => MISSING.to_owned(),
            Some(r) => {
                let place = if differs_in_place {
                    format!("L{} {}: ", r.line, r.kind)
                } else {
                    String::new()
                };
                let verdict =
                    if verdicts_differ { format!(" ({})", r.verdict) } else { String::new() };
                format!("{place}{}{verdict}", r.observed)
            }
        };
        report.mismatches.push(Mismatch {
            file: a.name.clone(),
            line: at.line,
            kind: at.kind.to_owned(),
            a: show(ra),
            b: show(rb),
        });
    }
    let (sa, sb) = (a.portable_stats(), b.portable_stats());
    if sa != sb {
        let show =
            |s: Option<PortableStats>| s.map_or_else(|| "(no stats)".into(), |s| s.to_string());
        report.mismatches.push(Mismatch {
            file: a.name.clone(),
            line: 0,
            kind: "stats".into(),
            a: show(sa),
            b: show(sb),
        });
    }
}

impl ParityReport {
    fn push_file(&mut self, file: &str, a: String, b: String) {
        self.mismatches.push(Mismatch {
            file: file.to_owned(),
            line: 0,
            kind: "file".into(),
            a,
            b,
        });
    }

    /// Whether there is no mismatch: both targets did exactly the same thing.
    pub fn is_empty(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// The first `max` mismatches, each as a header and one line per side (names
    /// aligned), a count of the ones left out, then the summary line.
    pub fn render(&self, max: usize) -> String {
        let width = self.a_name.len().max(self.b_name.len()) + 1;
        let mut out = String::new();
        for m in self.mismatches.iter().take(max) {
            let _ = writeln!(out, "{m}");
            let _ = writeln!(out, "    {:<width$} {}", format!("{}:", self.a_name), m.a);
            let _ = writeln!(out, "    {:<width$} {}", format!("{}:", self.b_name), m.b);
        }
        if self.mismatches.len() > max {
            let _ = writeln!(out, "... and {} more mismatches", self.mismatches.len() - max);
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    /// `parity sim vs qemu: 2 mismatches in 1 file (1234 records, 56 files compared)`.
    pub fn summary_line(&self) -> String {
        let mut files: Vec<&str> = self.mismatches.iter().map(|m| m.file.as_str()).collect();
        files.dedup();
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let compared = format!(
            "{}, {} compared",
            count(self.records, "record", "records"),
            count(self.files, "file", "files")
        );
        if self.is_empty() {
            format!("parity {} vs {}: identical ({compared})", self.a_name, self.b_name)
        } else {
            format!(
                "parity {} vs {}: {} in {} ({compared})",
                self.a_name,
                self.b_name,
                count(self.mismatches.len(), "mismatch", "mismatches"),
                count(files.len(), "file", "files"),
            )
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{} {}", self.file, self.kind)
        } else {
            write!(f, "{}:{} {}", self.file, self.line, self.kind)
        }
    }
}

impl fmt::Display for ParityReport {
    /// Every mismatch, then the summary (see [`ParityReport::render`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{PortableStats, Verdict};
    use tandem_protocol::{MemoryKind, MemoryStat, StatsResponse};

    fn record(line: usize, observed: &str) -> Record {
        Record {
            line,
            kind: "assert_return".into(),
            verdict: Verdict::Pass,
            observed: observed.into(),
        }
    }

    fn stats(pages: u32) -> StatsResponse {
        StatsResponse {
            memories: vec![MemoryStat { kind: MemoryKind::Static, pages, size_bytes: 0 }],
            peak_stack_slots: 12,
            peak_call_depth: 3,
            fuel_consumed: 0,
            grow_refusals: 0,
            heap: Default::default(),
            target: Default::default(),
        }
    }

    fn suite() -> SuiteReport {
        let mut i32 = FileReport::new("wasm-v2/i32.wast");
        i32.records = vec![record(1, "instantiated"), record(123, "returned [i32:3]")];
        i32.stats = Some(stats(1));
        i32.passed = 2;
        let mut f64 = FileReport::new("wasm-v2/f64.wast");
        f64.records = vec![record(2, "returned [f64:nan]")];
        f64.stats = Some(stats(0));
        f64.passed = 1;
        SuiteReport { label: "wasm-v2".into(), files: vec![i32, f64] }
    }

    #[test]
    fn identical_runs_have_parity() {
        let report = compare(&suite(), &suite(), "sim", "qemu");
        assert!(report.is_empty(), "{report}");
        assert_eq!(
            report.summary_line(),
            "parity sim vs qemu: identical (3 records, 2 files compared)"
        );
    }

    #[test]
    fn a_changed_observation_names_both_sides() {
        let mut qemu = suite();
        qemu.files[0].records[1].observed = "returned [i32:4]".into();
        let report = compare(&suite(), &qemu, "sim", "qemu");
        assert_eq!(report.mismatches.len(), 1, "{report}");
        assert_eq!(
            report.to_string(),
            "wasm-v2/i32.wast:123 assert_return\n    sim:  returned [i32:3]\n    qemu: returned \
             [i32:4]\nparity sim vs qemu: 1 mismatch in 1 file (3 records, 2 files compared)\n"
        );
    }

    #[test]
    fn a_changed_verdict_is_shown() {
        let mut qemu = suite();
        qemu.files[1].records[0].verdict = Verdict::Skip;
        let report = compare(&suite(), &qemu, "sim", "qemu");
        assert_eq!(report.mismatches.len(), 1);
        assert_eq!(report.mismatches[0].a, "returned [f64:nan] (pass)");
        assert_eq!(report.mismatches[0].b, "returned [f64:nan] (skip)");
    }

    #[test]
    fn stats_differences_are_mismatches_but_target_figures_are_not() {
        let mut qemu = suite();
        qemu.files[0].stats.as_mut().unwrap().memories[0].pages = 2;
        qemu.files[1].stats.as_mut().unwrap().target.heap_peak = Some(4096);
        let report = compare(&suite(), &qemu, "sim", "qemu");
        assert_eq!(report.mismatches.len(), 1, "{report}");
        let m = &report.mismatches[0];
        assert_eq!((m.file.as_str(), m.line, m.kind.as_str()), ("wasm-v2/i32.wast", 0, "stats"));
        assert_eq!(m.a, PortableStats::from(&stats(1)).to_string());
        assert!(m.b.starts_with("memories [static:2], stack 12, depth 3"), "{}", m.b);
    }

    #[test]
    fn missing_files_and_records_are_mismatches() {
        let mut qemu = suite();
        qemu.files.remove(1);
        qemu.files[0].records.pop();
        let report = compare(&suite(), &qemu, "sim", "qemu");
        let found: Vec<(&str, usize, &str, &str)> = report
            .mismatches
            .iter()
            .map(|m| (m.file.as_str(), m.line, m.kind.as_str(), m.b.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("wasm-v2/i32.wast", 123, "assert_return", MISSING),
                ("wasm-v2/f64.wast", 0, "file", MISSING),
            ]
        );
        let report = compare(&qemu, &suite(), "qemu", "sim");
        assert_eq!(report.mismatches[1].a, MISSING);
        assert!(report.to_string().contains("wasm-v2/f64.wast file\n"), "{report}");
    }

    #[test]
    fn several_suites_align_by_label_and_render_up_to_a_limit() {
        let mut v1 = suite();
        v1.label = "wasm-v1".into();
        let mut changed = suite();
        changed.files[0].records[0].observed = "link error".into();
        changed.files[0].records[1].observed = "trap: unreachable".into();
        let report = compare_suites(&[v1.clone(), suite()], &[changed, v1], "sim", "qemu");
        assert_eq!((report.files, report.records, report.mismatches.len()), (4, 6, 2));
        let text = report.render(1);
        assert!(text.starts_with("wasm-v2/i32.wast:1 assert_return\n    sim:  instantiated\n"));
        assert!(text.contains("... and 1 more mismatches\n"), "{text}");
        assert!(!report.is_empty());
    }

    #[test]
    fn totals_count_each_directive_once_across_targets() {
        assert_eq!(directive_totals(&[&[suite()], &[suite()]]), (3, 0));
        let mut changed = suite();
        changed.files[0].records[1].observed = "returned [i32:4]".into();
        assert_eq!(directive_totals(&[&[suite()], &[changed]]), (2, 1), "a disagreement fails");
        let mut failing = suite();
        failing.files[1].records[0].verdict = Verdict::Fail;
        assert_eq!(directive_totals(&[&[failing.clone()], &[failing]]), (2, 1));
        let mut skipped = suite();
        skipped.files[1].records[0].verdict = Verdict::Skip;
        assert_eq!(directive_totals(&[&[skipped.clone()], &[skipped]]), (2, 0), "skips count not");
        // Files only the second target ran count as failed directives.
        assert_eq!(directive_totals(&[&[suite()], &[suite(), suite()]]), (3, 3));
    }
}
