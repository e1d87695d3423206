//! What a run produced: per-file and per-suite counts, failures with their
//! location, skips with their reason, one [`Record`] per directive (what the
//! target did, worded independently of the target, for parity and snapshots),
//! the file's statistics, and renderings of them (a plain-text table, summary
//! lines and JUnit XML).
//!
//! Every directive of a `.wast` file counts exactly once: as passed, failed or
//! skipped. A whole file skipped (e.g. `simd_*.wast`) counts its directives as
//! skipped.

use std::collections::BTreeMap;
use std::fmt;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use serde::{Deserialize, Serialize};
use tandem_protocol::{MemoryKind, StatsResponse, TargetStats};

/// How a directive was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// It did what the file asserts.
    Pass,
    /// It did not.
    Fail,
    /// It was not judged (see the reason).
    Skip,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        })
    }
}

/// One directive's verdict and what the target did, in a target-independent
/// wording (see `wast::observe`), so two targets' runs compare line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 1-based line of the directive.
    pub line: usize,
    /// The directive kind, e.g. `assert_return`.
    pub kind: String,
    /// How it was judged.
    pub verdict: Verdict,
    /// E.g. `returned [i32:3]`, `trap: integer overflow`, `rejected: invalid`,
    /// `skipped: <reason>`.
    pub observed: String,
}

impl Record {
    /// `L{line} {kind}: {observed}`: one line of a snapshot or a diff.
    pub fn compact(&self) -> String {
        format!("L{} {}: {}", self.line, self.kind, self.observed)
    }
}

/// A linear memory's figures that do not depend on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortableMemory {
    /// Where it lives.
    pub kind: MemoryKind,
    /// Its size in wasm pages.
    pub pages: u32,
}

/// The part of [`StatsResponse`] that is the same on every target running the
/// same board profile (no pointer width, allocator or clock in it): what
/// snapshots hold and parity compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortableStats {
    /// Every live instance's memories, in instance order.
    pub memories: Vec<PortableMemory>,
    /// Most value-stack slots in use at once.
    pub peak_stack_slots: u32,
    /// Deepest wasm call nesting reached.
    pub peak_call_depth: u32,
    /// Fuel charged.
    pub fuel_consumed: u64,
    /// `memory.grow`s the board refused although the memory's maximum allowed them.
    pub grow_refusals: u32,
    /// The store's heap-account peak, in board bytes.
    pub heap_peak: u64,
}

impl From<&StatsResponse> for PortableStats {
    fn from(stats: &StatsResponse) -> Self {
        PortableStats {
            memories: stats
                .memories
                .iter()
                .map(|m| PortableMemory { kind: m.kind, pages: m.pages })
                .collect(),
            peak_stack_slots: stats.peak_stack_slots,
            peak_call_depth: stats.peak_call_depth,
            fuel_consumed: stats.fuel_consumed,
            grow_refusals: stats.grow_refusals,
            heap_peak: stats.heap.peak,
        }
    }
}

impl fmt::Display for PortableStats {
    /// One line: `memories [static:1, heap:2], stack 12, depth 3, fuel 0, grow refusals 0,
    /// heap 24576`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memories [")?;
        for (i, m) in self.memories.iter().enumerate() {
            let kind = match m.kind {
                MemoryKind::Heap => "heap",
                MemoryKind::Static => "static",
            };
            write!(f, "{}{kind}:{}", if i > 0 { ", " } else { "" }, m.pages)?;
        }
        write!(
            f,
            "], stack {}, depth {}, fuel {}, grow refusals {}, heap {}",
            self.peak_stack_slots,
            self.peak_call_depth,
            self.fuel_consumed,
            self.grow_refusals,
            self.heap_peak
        )
    }
}

/// A directive that did not do what the file asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// 1-based line of the directive.
    pub line: usize,
    /// The directive kind, e.g. `assert_return`.
    pub kind: String,
    /// What the file asserts.
    pub expected: String,
    /// What the target did.
    pub got: String,
}

/// A directive that was not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// 1-based line of the directive.
    pub line: usize,
    /// The directive kind, e.g. `assert_return`.
    pub kind: String,
    /// Why it was not judged.
    pub reason: String,
}

/// A file that was not run at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSkip {
    /// Why the file was not run.
    pub reason: String,
    /// How many directives the file holds (all counted as skipped).
    pub directives: usize,
}

/// The outcome of one `.wast` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Display name, e.g. `wasm-v1/i32.wast` or the path given.
    pub name: String,
    /// Directives that passed.
    pub passed: usize,
    /// Directives that failed, in order.
    pub failures: Vec<Failure>,
    /// Directives that were not judged, in order.
    pub skips: Vec<Skip>,
    /// Set when the whole file was not run.
    pub file_skip: Option<FileSkip>,
    /// Set when the target died during this file and could not be restarted: why. The
    /// file's results up to there stand; nothing more can run on that target.
    pub target_lost: Option<String>,
    /// Every directive run, in order (empty for a skipped file).
    pub records: Vec<Record>,
    /// The session's statistics at the end of the file; `None` if the target
    /// could not report them or the file was not run.
    pub stats: Option<StatsResponse>,
    /// Why earlier attempts at the file were dropped and it ran again (`--retries`): each a
    /// transport failure, never a wrong result. Empty when it ran once.
    #[serde(default)]
    pub retried: Vec<String>,
}

impl FileReport {
    /// An empty report for the file `name`.
    pub fn new(name: impl Into<String>) -> Self {
        FileReport { name: name.into(), ..FileReport::default() }
    }

    /// Directives that failed.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Directives not judged, those of a skipped file included.
    pub fn skipped(&self) -> usize {
        self.skips.len() + self.file_skip.as_ref().map_or(0, |s| s.directives)
    }

    /// The statistics every target on the same board profile must agree on.
    pub fn portable_stats(&self) -> Option<PortableStats> {
        self.stats.as_ref().map(PortableStats::from)
    }

    /// The transport failure this attempt at the file met, if any: the target died and
    /// could not be restarted, or stopped answering at a directive (and was restarted).
    /// Only such an attempt is worth running again; a wrong result is the result.
    pub fn transport_failure(&self) -> Option<&str> {
        let stopped = || {
            let expected = crate::wast::TARGET_TO_ANSWER;
            self.failures.iter().find(|f| f.expected == expected).map(|f| f.got.as_str())
        };
        self.target_lost.as_deref().or_else(stopped)
    }

    /// The target-dependent figures, if the target measured any.
    pub fn target_stats(&self) -> Option<&TargetStats> {
        self.stats.as_ref().map(|s| &s.target).filter(|t| **t != TargetStats::default())
    }
}

impl fmt::Display for Failure {
    /// `LINE: KIND: expected E, got G` (the caller prefixes the file name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: expected {}, got {}", self.line, self.kind, self.expected, self.got)
    }
}

/// The outcome of one suite (e.g. `spec:v1`, or a directory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// E.g. `wasm-v1`, or the path given.
    pub label: String,
    /// Its files, in the order they ran.
    pub files: Vec<FileReport>,
}

impl SuiteReport {
    /// Directives that passed, over all files.
    pub fn passed(&self) -> usize {
        self.files.iter().map(|f| f.passed).sum()
    }

    /// Directives that failed, over all files.
    pub fn failed(&self) -> usize {
        self.files.iter().map(FileReport::failed).sum()
    }

    /// Directives not judged, over all files.
    pub fn skipped(&self) -> usize {
        self.files.iter().map(FileReport::skipped).sum()
    }

    /// `LABEL: N passed, M failed, K skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{}: {} passed, {} failed, {} skipped",
            self.label,
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// Every failure as `file:line: kind: expected E, got G`.
    pub fn failure_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.files
            .iter()
            .flat_map(|file| file.failures.iter().map(move |f| format!("{}:{f}", file.name)))
    }

    /// Skipped files (`name: reason (N directives)`) followed by directive skips
    /// grouped by reason (`N x reason (first at file:line)`).
    pub fn skip_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for file in &self.files {
            if let Some(skip) = &file.file_skip {
                lines.push(format!(
                    "{}: {} ({} directives)",
                    file.name, skip.reason, skip.directives
                ));
            }
        }
        let mut by_reason: BTreeMap<&str, (usize, String)> = BTreeMap::new();
        for file in &self.files {
            for skip in &file.skips {
                by_reason
                    .entry(&skip.reason)
                    .or_insert_with(|| (0, format!("{}:{}", file.name, skip.line)))
                    .0 += 1;
            }
        }
        for (reason, (count, first)) in by_reason {
            lines.push(format!("{count} x {reason} (first at {first})"));
        }
        lines
    }

    /// What follows the table: the failures (at most `max_failures` per file) and the skips
    /// with their reasons, each under a heading; empty when there are none.
    pub fn details(&self, max_failures: usize) -> String {
        let mut out = String::new();
        if self.failed() > 0 {
            out.push_str("failures:\n");
            for file in &self.files {
                for failure in file.failures.iter().take(max_failures) {
                    out.push_str(&format!("  {}:{failure}\n", file.name));
                }
                if file.failed() > max_failures {
                    let more = file.failed() - max_failures;
                    out.push_str(&format!("  {}: ... and {more} more\n", file.name));
                }
            }
        }
        let retried: Vec<_> = self.files.iter().filter(|f| !f.retried.is_empty()).collect();
        if !retried.is_empty() {
            out.push_str("retried after transport failures:\n");
            for file in retried {
                let times = file.retried.len();
                out.push_str(&format!("  {}: {times}x, first: {}\n", file.name, file.retried[0]));
            }
        }
        let skips = self.skip_lines();
        if !skips.is_empty() {
            out.push_str("skipped:\n");
            for line in skips {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }

    /// What a board measured over the suite (nothing for the simulator): the largest heap
    /// peak and native stack high water of any file, and the clock ticks spent in the
    /// handler, which under QEMU's `-icount shift=0` count guest instructions (1 ns each).
    pub fn board_figures(&self) -> Option<String> {
        let figures: Vec<_> = self.files.iter().filter_map(|f| f.target_stats()).collect();
        let max =
            |pick: fn(&TargetStats) -> Option<u64>| figures.iter().filter_map(|t| pick(t)).max();
        let heap_peak = max(|t| t.heap_peak)?;
        let heap_size = max(|t| t.heap_size).unwrap_or(0);
        let stack = max(|t| t.native_stack_high_water).unwrap_or(0);
        let stack_size = max(|t| t.native_stack_size).unwrap_or(0);
        let ticks: u64 = figures.iter().filter_map(|t| t.exec_ticks).sum();
        let hz = max(|t| t.tick_hz.map(u64::from)).unwrap_or(0);
        let instructions = 1_000_000_000u64.checked_div(hz).map_or(0, |per_tick| ticks * per_tick);
        Some(format!(
            "board: heap peak {} KiB of {} KiB, native stack high water {} B of {} B, \
             {:.1} M guest instructions in the handler (SysTick, under -icount)",
            heap_peak / 1024,
            heap_size / 1024,
            stack,
            stack_size,
            instructions as f64 / 1e6
        ))
    }
}

/// Header and row of the per-file table: name, passed, failed, skipped.
pub fn table_header() -> String {
    format!("{:<44} {:>7} {:>7} {:>7}", "file", "passed", "failed", "skipped")
}

/// One row of the per-file table.
pub fn table_row(file: &FileReport) -> String {
    format!("{:<44} {:>7} {:>7} {:>7}", file.name, file.passed, file.failed(), file.skipped())
}

/// The closing line over all suites: exactly `N passed, M failed`.
pub fn total_line(suites: &[SuiteReport]) -> String {
    let passed: usize = suites.iter().map(SuiteReport::passed).sum();
    let failed: usize = suites.iter().map(SuiteReport::failed).sum();
    format!("{passed} passed, {failed} failed")
}

/// Writes `text` to `path` through a temporary file and a rename, so a run stopped mid-write
/// leaves the previous complete file, never a torn one (reports and records are rewritten
/// while a run goes).
pub fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path))
}

/// [`junit_xml`] for a run still going (or interrupted): `note`, which should say how far it
/// got, goes in an XML comment before the results, where a person opening the file sees it
/// and JUnit readers skip it.
pub fn junit_xml_partial(suites: &[SuiteReport], note: &str) -> String {
    let full = junit_xml(suites);
    let (declaration, rest) = full.split_once('\n').unwrap_or((&full, ""));
    // `--` may not appear inside an XML comment.
    format!("{declaration}\n<!-- {} -->\n{rest}", note.replace("--", "- -"))
}

/// The suites as a JUnit report (quick-junit): one `testsuite` per suite, one `testcase`
/// per file. A file with failures fails, its message counting them and its text listing
/// them; a file not run is skipped with the reason; a file run again after transport
/// failures (`--retries`) carries each dropped attempt as a rerun. Every case's output is
/// its counts.
pub fn junit_report(suites: &[SuiteReport]) -> Report {
    let mut report = Report::new("tandem");
    for suite in suites {
        let mut test_suite = TestSuite::new(suite.label.as_str());
        for file in &suite.files {
            let mut status = if let Some(skip) = &file.file_skip {
                let mut status = TestCaseStatus::skipped();
                status.set_message(skip.reason.as_str());
                status
            } else if file.failed() > 0 {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let lines: Vec<String> =
                    file.failures.iter().map(|f| format!("{}:{f}", file.name)).collect();
                status
                    .set_message(format!("{} failed assertions", file.failed()))
                    .set_description(lines.join("\n"));
                status
            } else {
                TestCaseStatus::success()
            };
            status.add_reruns(file.retried.iter().map(|why| {
                let mut rerun = TestRerun::new(NonSuccessKind::Error);
                rerun.set_message(why.as_str());
                rerun
            }));
            let mut case = TestCase::new(file.name.as_str(), status);
            case.set_classname(suite.label.as_str()).set_system_out(format!(
                "{} passed, {} failed, {} skipped",
                file.passed,
                file.failed(),
                file.skipped()
            ));
            test_suite.add_test_case(case);
        }
        report.add_test_suite(test_suite);
    }
    report
}

/// JUnit reports of shards joined into one: suites of the same name become one, their
/// cases in the order of the reports given.
pub fn merge_junit(parts: impl IntoIterator<Item = Report>) -> Report {
    let mut suites: Vec<TestSuite> = Vec::new();
    for part in parts {
        for suite in part.test_suites {
            match suites.iter_mut().find(|s| s.name == suite.name) {
                Some(joined) => {
                    joined.add_test_cases(suite.test_cases);
                }
                None => {
                    let mut joined = TestSuite::new(suite.name.clone());
                    joined.add_test_cases(suite.test_cases);
                    suites.push(joined);
                }
            }
        }
    }
    let mut report = Report::new("tandem");
    report.add_test_suites(suites);
    report
}

/// [`junit_report`] as XML.
pub fn junit_xml(suites: &[SuiteReport]) -> String {
    junit_report(suites).to_string().expect("a report of strings serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SuiteReport {
        let mut ok = FileReport::new("wasm-v1/a.wast");
        ok.passed = 3;
        let mut bad = FileReport::new("wasm-v1/b<&>.wast");
        bad.passed = 1;
        bad.failures.push(Failure {
            line: 7,
            kind: "assert_return".into(),
            expected: "[i32:1]".into(),
            got: "[i32:2]".into(),
        });
        bad.skips.push(Skip { line: 9, kind: "invoke".into(), reason: "SIMD".into() });
        let mut skipped = FileReport::new("wasm-v1/simd_x.wast");
        skipped.file_skip = Some(FileSkip { reason: "SIMD is out of scope".into(), directives: 5 });
        SuiteReport { label: "wasm-v1".into(), files: vec![ok, bad, skipped] }
    }

    #[test]
    fn counts_and_lines() {
        let suite = sample();
        assert_eq!(suite.summary_line(), "wasm-v1: 4 passed, 1 failed, 6 skipped");
        assert_eq!(total_line(std::slice::from_ref(&suite)), "4 passed, 1 failed");
        let failures: Vec<_> = suite.failure_lines().collect();
        assert_eq!(failures, ["wasm-v1/b<&>.wast:7: assert_return: expected [i32:1], got [i32:2]"]);
        let skips = suite.skip_lines();
        assert_eq!(skips[0], "wasm-v1/simd_x.wast: SIMD is out of scope (5 directives)");
        assert_eq!(skips[1], "1 x SIMD (first at wasm-v1/b<&>.wast:9)");
    }

    #[test]
    fn stats_split_into_portable_and_target_figures() {
        use tandem_protocol::MemoryStat;
        let mut file = FileReport::new("wasm-v1/a.wast");
        assert_eq!(file.portable_stats(), None);
        file.stats = Some(StatsResponse {
            memories: vec![MemoryStat { kind: MemoryKind::Heap, pages: 2, size_bytes: 131_072 }],
            peak_stack_slots: 40,
            peak_call_depth: 5,
            fuel_consumed: 900,
            grow_refusals: 1,
            heap: tandem_protocol::HeapStats { in_use: 4096, peak: 24_576, limit: None },
            target: TargetStats::default(),
        });
        let portable = file.portable_stats().unwrap();
        assert_eq!(
            portable.to_string(),
            "memories [heap:2], stack 40, depth 5, fuel 900, grow refusals 1, heap 24576"
        );
        assert_eq!(file.target_stats(), None, "all-None target figures are no figures");
        file.stats.as_mut().unwrap().target.heap_peak = Some(8192);
        assert_eq!(file.target_stats().and_then(|t| t.heap_peak), Some(8192));
    }

    #[test]
    fn a_partial_junit_report_says_how_far_the_run_got() {
        let xml = junit_xml_partial(&[sample()], "PARTIAL: 3 of 9 files run -- stopped");
        let mut lines = xml.lines();
        assert_eq!(lines.next(), Some("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert_eq!(lines.next(), Some("<!-- PARTIAL: 3 of 9 files run - - stopped -->"));
        assert!(xml.ends_with(&junit_xml(&[sample()]).split_once('\n').unwrap().1));
    }

    #[test]
    fn junit_reads_back_with_the_counts_statuses_and_reruns() {
        let mut suite = sample();
        suite.files[0].retried.push("serial port closed".into());
        let xml = junit_xml(std::slice::from_ref(&suite));
        assert!(xml.contains("name=\"wasm-v1/b&lt;&amp;&gt;.wast\""), "{xml}");
        let report = Report::deserialize_from_str(&xml).expect("quick-junit reads its own XML");
        assert_eq!((report.tests, report.failures, report.skipped), (3, 1, 1));
        let cases = &report.test_suites[0].test_cases;
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["wasm-v1/a.wast", "wasm-v1/b<&>.wast", "wasm-v1/simd_x.wast"]);
        match &cases[0].status {
            TestCaseStatus::Success { flaky_runs } => {
                assert_eq!(flaky_runs.len(), 1);
                assert_eq!(flaky_runs[0].message.as_ref().unwrap().as_str(), "serial port closed");
            }
            other => panic!("{other:?}"),
        }
        match &cases[1].status {
            TestCaseStatus::NonSuccess { message, description, .. } => {
                assert_eq!(message.as_ref().unwrap().as_str(), "1 failed assertions");
                assert!(description.as_ref().unwrap().as_str().contains("b<&>.wast:7"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&cases[2].status, TestCaseStatus::Skipped { message: Some(m), .. }
            if m.as_str() == "SIMD is out of scope"));
    }

    #[test]
    fn junit_reports_of_shards_merge_by_suite() {
        let suite = sample();
        let part = |files: std::ops::Range<usize>| {
            let shard =
                SuiteReport { label: suite.label.clone(), files: suite.files[files].to_vec() };
            Report::deserialize_from_str(&junit_xml(&[shard])).unwrap()
        };
        let merged = merge_junit([part(0..1), part(1..3)]);
        let whole = junit_report(std::slice::from_ref(&suite));
        assert_eq!(merged.test_suites.len(), 1);
        assert_eq!((merged.tests, merged.failures, merged.skipped), (3, 1, 1));
        let names = |r: &Report| -> Vec<String> {
            r.test_suites[0].test_cases.iter().map(|c| c.name.as_str().to_owned()).collect()
        };
        assert_eq!(names(&merged), names(&whole));
    }
}
