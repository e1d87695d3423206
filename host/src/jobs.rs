//! A plan's files on several instances of one target at once (`--jobs N`): each instance
//! takes the next file not yet taken, in the plan's order, in a thread of its own; the
//! reports come back in the plan's order, so the run's reports (and what its progress
//! hears) are the ones a run on one instance gives.
//!
//! Every file starts its own session ([`Target::reset`]), so which instance runs it does
//! not change its outcome. An instance that dies and cannot be restarted takes no more
//! files; the others go on, and files no instance is left to run are reported as not run,
//! as on a single target.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::report::{FileReport, SuiteReport};
use crate::suite::{Plan, Progress, not_run, run_file};
use crate::target::Target;
use crate::wast::RunError;

/// One file of the plan: its suite and its place there.
#[derive(Clone, Copy)]
struct Job {
    suite: usize,
    file: usize,
}

impl Plan {
    /// Runs every suite on `targets` (instances of one target under one profile), a file
    /// on each at a time, telling `progress` in the plan's order as the files finish.
    /// With one instance this is [`Plan::run`].
    pub fn run_jobs(
        &self,
        targets: &mut [Box<dyn Target + Send>],
        progress: &mut impl Progress,
    ) -> Result<Vec<SuiteReport>, RunError> {
        if let [target] = targets {
            return self.run(&mut **target, progress);
        }
        let jobs: Vec<Job> =
            self.selected_files().map(|(suite, file, _)| Job { suite, file }).collect();
        let next = AtomicUsize::new(0);
        // Set when a file cannot be read: the instances stop taking files.
        let stop = AtomicBool::new(false);
        let mut order = InOrder::new(self, progress);
        let mut lost: Option<String> = None;
        let mut error: Option<RunError> = None;
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<(usize, Result<FileReport, RunError>)>();
            for target in targets.iter_mut() {
                let (tx, jobs, next, stop) = (tx.clone(), &jobs, &next, &stop);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let (suite, files) = &self.suites[job.suite];
                        let features = suite.features(self.default_features);
                        let file = &files[job.file];
                        let report = run_file(&mut **target, features, file, self.retries);
                        let dead = report.as_ref().map_or(true, |r| r.target_lost.is_some());
                        if tx.send((i, report)).is_err() || dead {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Until every instance has ended: reports in the plan's order as they complete.
            let mut waiting = BTreeMap::new();
            for (i, report) in rx {
                match report {
                    Ok(report) => {
                        lost = report.target_lost.clone().or(lost.take());
                        waiting.insert(i, report);
                        while let Some(report) = waiting.remove(&order.emitted) {
                            order.emit(jobs[order.emitted], report);
                        }
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        error.get_or_insert(e);
                    }
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        // Files no instance was left to run (every one died).
        while let Some(&job) = jobs.get(order.emitted) {
            let why = lost.as_deref().unwrap_or("no target left");
            let (_, files) = &self.suites[job.suite];
            order.emit(job, not_run(&files[job.file], why)?);
        }
        Ok(order.finish())
    }
}

/// Builds the suites' reports from files reported in the plan's order, telling the
/// progress what a run on one target would have told it: a suite's start, each file, its end
/// (suites with no selected file included).
struct InOrder<'a, P: Progress> {
    plan: &'a Plan,
    progress: &'a mut P,
    /// How many files have been emitted.
    emitted: usize,
    /// The suites ended so far.
    done: Vec<SuiteReport>,
    /// The suite being filled, if one has started.
    open: Option<(usize, SuiteReport)>,
}

impl<'a, P: Progress> InOrder<'a, P> {
    fn new(plan: &'a Plan, progress: &'a mut P) -> Self {
        InOrder { plan, progress, emitted: 0, done: Vec::new(), open: None }
    }

    /// Ends suites until suite `suite` is the open one.
    fn open_suite(&mut self, suite: usize) {
        loop {
            match &self.open {
                Some((open, _)) if *open == suite => return,
                Some(_) => self.end_open(),
                None => {}
            }
            let index = self.done.len();
            let (s, _) = &self.plan.suites[index];
            self.progress.suite_started(s);
            self.open = Some((index, SuiteReport { label: s.label(), files: Vec::new() }));
        }
    }

    fn end_open(&mut self) {
        if let Some((_, report)) = self.open.take() {
            self.progress.suite_done(&report);
            self.done.push(report);
        }
    }

    /// The next file in the plan's order, `job`, finished with `report`.
    fn emit(&mut self, job: Job, report: FileReport) {
        self.open_suite(job.suite);
        if let Some((_, suite)) = &mut self.open {
            suite.files.push(report);
            self.progress.file_done(suite);
        }
        self.emitted += 1;
    }

    /// Ends the open suite and the ones after it, and gives every suite's report.
    fn finish(mut self) -> Vec<SuiteReport> {
        self.end_open();
        while self.done.len() < self.plan.suites.len() {
            let index = self.done.len();
            self.open_suite(index);
            self.end_open();
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::Features;
    use crate::suite::{Script, Suite, SuiteFile};
    use crate::wast::tests::FakeTarget;

    /// What a run told its progress, in order.
    #[derive(Default)]
    struct Heard(Vec<String>);

    impl Progress for Heard {
        fn suite_started(&mut self, suite: &Suite) {
            self.0.push(format!("start {}", suite.label()));
        }
        fn file_done(&mut self, so_far: &SuiteReport) {
            let file = so_far.files.last().expect("a file");
            self.0.push(format!("{} {} {}", so_far.files.len(), file.name, file.passed));
        }
        fn suite_done(&mut self, report: &SuiteReport) {
            self.0.push(format!("done {} {}", report.label, report.files.len()));
        }
    }

    fn run(plan: &Plan, targets: &mut [Box<dyn Target + Send>]) -> (Vec<SuiteReport>, Heard) {
        let mut heard = Heard::default();
        let reports = plan.run_jobs(targets, &mut heard).expect("the scripts parse");
        (reports, heard)
    }

    #[cfg(feature = "sim")]
    fn sims(n: usize) -> Vec<Box<dyn Target + Send>> {
        let sim = || Box::new(crate::SimTarget::new()) as Box<dyn Target + Send>;
        (0..n).map(|_| sim()).collect()
    }

    #[cfg(feature = "sim")]
    #[test]
    fn several_instances_report_what_one_does_in_the_same_order() {
        // The filter leaves the first suite empty: it still starts and ends, in its place.
        let names = ["spec:tail-call".to_owned(), "spec:v1".to_owned(), "spec:v2".to_owned()];
        let plan = Plan::new(&names, Features::WASM2, Some("br".into()), &Default::default())
            .expect("embedded suites");
        let (one, heard_one) = run(&plan, &mut sims(1));
        assert_eq!(one.len(), 3);
        assert!(one[0].files.is_empty() && one[1].files.len() >= 3, "{:?}", heard_one.0);
        assert!(one.iter().all(|r| r.failed() == 0));
        for n in [2, 3] {
            let (many, heard) = run(&plan, &mut sims(n));
            assert_eq!(many, one, "{n} instances");
            assert_eq!(heard.0, heard_one.0, "{n} instances");
        }
    }

    fn fake_plan(files: usize) -> Plan {
        let file = |i: usize| SuiteFile {
            name: format!("f{i}.wast"),
            file_name: format!("f{i}.wast"),
            script: Script::Wast(Cow::Borrowed("(module)\n(invoke \"one\")")),
        };
        Plan {
            suites: vec![(Suite::Path("fake".into()), (0..files).map(file).collect())],
            default_features: Features::WASM2,
            filter: None,
            retries: 0,
        }
    }

    fn fake(dies: bool) -> Box<dyn Target + Send> {
        let mut target = FakeTarget::default();
        target.fatal_on_invoke = dies;
        Box::new(target)
    }

    #[test]
    fn an_instance_that_dies_takes_no_more_files_and_the_others_run_them() {
        let (reports, _) = run(&fake_plan(6), &mut [fake(true), fake(false)]);
        let files = &reports[0].files;
        assert_eq!(files.len(), 6);
        // The dying instance loses the one file it takes (none, if the other took them all
        // before its thread started).
        let lost: Vec<_> = files.iter().filter(|f| f.target_lost.is_some()).collect();
        assert!(lost.len() <= 1, "{files:?}");
        // Every other file ran to the end on the live instance: the module and the call.
        for f in files.iter().filter(|f| f.target_lost.is_none()) {
            assert!(f.file_skip.is_none() && f.passed == 2, "{f:?}");
        }
    }

    #[test]
    fn files_no_instance_is_left_to_run_are_reported_as_not_run() {
        let (reports, heard) = run(&fake_plan(5), &mut [fake(true), fake(true)]);
        let files = &reports[0].files;
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["f0.wast", "f1.wast", "f2.wast", "f3.wast", "f4.wast"]);
        // Each instance died on the first file it took; nothing ran after.
        assert_eq!(files.iter().filter(|f| f.target_lost.is_some()).count(), 2);
        let not_run = files.iter().filter_map(|f| f.file_skip.as_ref());
        assert!(not_run.clone().all(|s| s.reason.starts_with("not run: the target died")));
        assert_eq!(not_run.count(), 3);
        assert_eq!(heard.0.len(), 1 + 5 + 1, "{:?}", heard.0);
    }
}
