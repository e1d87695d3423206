//! The per-file session: the target, the names the script gave modules and instances, and
//! the judgement of each directive against what the target did.

use std::collections::HashMap;

use ::wast::token::Id;
use ::wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, Wat};
use tandem_interp::Features;
use tandem_protocol::{InstanceId, ModuleId, Refusal, TrapKind, Val};

use super::expect::{self, Expect};
use super::judge::*;
use super::observe;
use super::{CHECKED_ON_HOST_REASON, DESKTOP_PROFILE, GROW_REFUSED_REASON, host_validate};
use crate::target::{Target, TargetError};

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(module, QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)))
}

const COMPONENT_REASON: &str = "the component model is out of scope";

fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    module.encode().map_err(|e| e.message())
}

/// The per-file state: the target and the names the script gave things.
pub(super) struct Session<'t, T: ?Sized> {
    pub(super) target: &'t mut T,
    /// The most recent instance, or why there is none.
    pub(super) current: Result<InstanceId, Unavailable>,
    pub(super) instances: HashMap<String, Result<InstanceId, Unavailable>>,
    pub(super) definitions: HashMap<String, Result<ModuleId, Unavailable>>,
    pub(super) last_definition: Result<ModuleId, Unavailable>,
    /// Names a `register` could not register because their module is out of the target's
    /// scope, with why: a module importing from one is out of scope too.
    pub(super) unregistered: HashMap<String, String>,
    /// The target's `grow_refusals` when the current instance was created: a failure counts
    /// as a board limit only if the board refused a grow after that.
    pub(super) refusals_before_current: u32,
    /// What the host validates against for a target that does not validate.
    pub(super) features: Features,
}

impl<T: Target + ?Sized> Session<'_, T> {
    /// Why a failing directive is out of the target's scope rather than a failure, if it
    /// is: the module involved was refused for resources or for a proposal Tandem does not
    /// implement, or the board refused a `memory.grow` earlier. Statistics are queried
    /// only here, on failures.
    pub(super) fn out_of_scope_reason(&mut self, out_of_scope: Option<String>) -> Option<String> {
        if out_of_scope.is_some() {
            return out_of_scope;
        }
        match self.target.stats() {
            Ok(stats) if stats.grow_refusals > self.refusals_before_current => {
                Some(GROW_REFUSED_REASON.to_owned())
            }
            _ => None,
        }
    }

    /// A call that ran out of call depth, value stack or fuel under a board profile's limits
    /// (which are smaller than the desktop's) ran into the board, not into a bug: the spec
    /// leaves exhaustion to the implementation.
    fn exhausted_on_board(&self, exec: &Exec) -> Option<String> {
        let Exec::Trapped(trap) = exec else { return None };
        self.target.board().filter(|b| *b != DESKTOP_PROFILE)?;
        match trap.kind {
            TrapKind::StackExhausted => Some(format!(
                "{} at the board's call-depth and value-stack limits, which the spec permits",
                trap.message
            )),
            TrapKind::OutOfFuel => Some(format!("{} at the board's fuel limit", trap.message)),
            _ => None,
        }
    }

    pub(super) fn run(
        &mut self,
        directive: WastDirective<'_>,
        line: usize,
    ) -> Result<Judged, Fatal> {
        Ok(match directive {
            WastDirective::Module(mut module) => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let name = module.name();
                let run = self.instantiate(&mut module)?;
                let result = match run {
                    ModuleRun::Instantiated(instance) => Ok(instance),
                    ref other => Err(Unavailable {
                        why: format!("the module at line {line} failed: {other}"),
                        out_of_scope: other.out_of_scope(),
                    }),
                };
                self.set_current(name, result);
                let outcome = match &run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                };
                module_judged(&run, outcome)
            }
            WastDirective::ModuleDefinition(mut module) => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let name = module.name();
                let (judged, result) = match self.load(&mut module)? {
                    Ok(id) => (Judged::new(Outcome::Pass, "loaded"), Ok(id)),
                    Err(run) => (
                        module_judged(&run, fail("the module to load", run.to_string())),
                        Err(Unavailable {
                            why: format!("the module defined at line {line} failed: {run}"),
                            out_of_scope: run.out_of_scope(),
                        }),
                    ),
                };
                if let Some(name) = name {
                    self.definitions.insert(name.name().to_owned(), result.clone());
                }
                self.last_definition = result;
                judged
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()).cloned().unwrap_or_else(|| {
                        Err(Unavailable::new(format!("no module definition named ${}", id.name())))
                    }),
                    None => self.last_definition.clone(),
                };
                let run = match definition {
                    Ok(module) => self.instantiate_loaded(module)?,
                    Err(why) => ModuleRun::Unavailable(why),
                };
                let outcome = match &run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                };
                let judged = module_judged(&run, outcome);
                let result = match run {
                    ModuleRun::Instantiated(i) => Ok(i),
                    other => Err(Unavailable {
                        why: format!("the instance at line {line} failed: {other}"),
                        out_of_scope: other.out_of_scope(),
                    }),
                };
                self.set_current(instance, result);
                judged
            }
            WastDirective::Register { name, module, .. } => {
                let expected = format!("to register as \"{name}\"");
                match self.instance(module) {
                    Err(u) => {
                        if let Some(why) = &u.out_of_scope {
                            self.unregistered.insert(name.to_owned(), why.clone());
                        }
                        Judged::new(fail(expected, u.why), "error: no instance")
                            .out_of_scope(u.out_of_scope)
                    }
                    Ok(instance) => match split(self.target.register(instance, name))? {
                        Ok(()) => Judged::new(Outcome::Pass, "registered"),
                        Err(e) => Judged::new(fail(expected, e.to_string()), observe::error(&e))
                            .out_of_scope(observe::out_of_scope(&e)),
                    },
                }
            }
            WastDirective::Invoke(invoke) => {
                let exec = self.invoke(&invoke)?;
                let (observed, out_of_scope) = (exec.observed(), exec.out_of_scope());
                let outcome = match exec {
                    Exec::Returned(_) | Exec::Instantiated => Outcome::Pass,
                    Exec::Trapped(t) => fail("the call to return", t.to_string()),
                    Exec::Error(e) => fail("the call to return", e.text),
                    Exec::Skip(reason) => Outcome::Skip(reason),
                };
                Judged::new(outcome, observed).out_of_scope(out_of_scope)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let expected: Vec<Expect> =
                    match results.iter().map(expect::expect).collect::<Result<_, _>>() {
                        Ok(e) => e,
                        Err(reason) => return Ok(Judged::skip(reason)),
                    };
                let want = expect::list(&expected);
                let exec = self.execute(exec)?;
                let out_of_scope = exec.out_of_scope().or_else(|| self.exhausted_on_board(&exec));
                let observed = exec.observed();
                let outcome = match exec {
                    Exec::Returned(got) if expect::results_match(&expected, &got) => Outcome::Pass,
                    Exec::Returned(got) => fail(want, expect::list(&got)),
                    Exec::Instantiated if expected.is_empty() => Outcome::Pass,
                    Exec::Instantiated => fail(want, "it instantiated"),
                    Exec::Trapped(t) => fail(want, t.to_string()),
                    Exec::Error(e) => fail(want, e.text),
                    Exec::Skip(reason) => Outcome::Skip(reason),
                };
                Judged::new(outcome, observed).out_of_scope(out_of_scope)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let exec = self.execute(exec)?;
                expect_trap(exec, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let exec = self.invoke(&call)?;
                expect_trap(exec, message)
            }
            WastDirective::AssertInvalid { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let expected = "the module to be rejected as invalid";
                if let Some(judged) = self.checked_on_host(&mut module) {
                    return Ok(judged);
                }
                match self.load(&mut module)? {
                    Err(ModuleRun::EncodeFailed(_)) => Judged::skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    Err(run) if run.is_rejection() => module_judged(&run, Outcome::Pass),
                    Err(run) => module_judged(&run, fail(expected, run.to_string())),
                    Ok(_) => Judged::new(fail(expected, "it loaded"), "loaded"),
                }
            }
            WastDirective::AssertMalformed { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let expected = "the module to be rejected as malformed";
                if let Some(judged) = self.checked_on_host(&mut module) {
                    return Ok(judged);
                }
                match self.load(&mut module)? {
                    // Text that does not parse or encode: checked on the host.
                    Err(run @ ModuleRun::EncodeFailed(_)) => module_judged(&run, Outcome::Pass),
                    Err(run) if run.is_rejection() => module_judged(&run, Outcome::Pass),
                    Err(run) => module_judged(&run, fail(expected, run.to_string())),
                    Ok(_) => Judged::new(fail(expected, "it loaded"), "loaded"),
                }
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                if matches!(module, Wat::Component(_)) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let mut module = QuoteWat::Wat(module);
                let expected = "instantiation to fail to link";
                match self.instantiate(&mut module)? {
                    ModuleRun::EncodeFailed(_) => Judged::skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    run @ ModuleRun::NotInstantiated(TargetError::Refused(Refusal::Link(_))) => {
                        module_judged(&run, Outcome::Pass)
                    }
                    run @ ModuleRun::Instantiated(_) => {
                        module_judged(&run, fail(expected, "it instantiated"))
                    }
                    run => module_judged(&run, fail(expected, run.to_string())),
                }
            }
            WastDirective::AssertException { .. } => {
                Judged::skip("exception handling is out of scope")
            }
            WastDirective::AssertSuspension { .. } => {
                Judged::skip("stack switching is out of scope")
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Judged::skip("threads are out of scope")
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                Judged::skip("custom-section assertions are out of scope")
            }
        })
    }

    /// Drops every handle: the target restarted after `line` and lost them.
    pub(super) fn forget(&mut self, line: usize) {
        let gone =
            || Err(Unavailable::new(format!("lost when the target restarted after line {line}")));
        self.current = gone();
        self.last_definition =
            Err(Unavailable::new(format!("lost when the target restarted after line {line}")));
        self.instances.values_mut().for_each(|i| *i = gone());
        self.definitions.clear();
        self.refusals_before_current = 0;
    }

    /// Records the latest instance (or why there is none), under `name` too.
    fn set_current(&mut self, name: Option<Id<'_>>, result: Result<InstanceId, Unavailable>) {
        if let Some(name) = name {
            self.instances.insert(name.name().to_owned(), result.clone());
        }
        if result.is_ok() {
            // Refusals before this instance existed say nothing about its results.
            self.refusals_before_current =
                self.target.stats().map_or(0, |stats| stats.grow_refusals);
        }
        self.current = result;
    }

    /// The instance a directive names (`$id`), or the latest one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<InstanceId, Unavailable> {
        match name {
            None => self.current.clone(),
            Some(id) => self.instances.get(id.name()).cloned().unwrap_or_else(|| {
                Err(Unavailable::new(format!("no module named ${}", id.name())))
            }),
        }
    }

    /// Encodes and loads a module. `Err` holds an `EncodeFailed` or `Rejected`.
    /// For a target that does not validate, an `assert_invalid`/`assert_malformed` module
    /// is judged on the host: rejected there, the directive is skipped as "checked on the
    /// host" (never passed: the board did not check it); accepted there, `None`, and the
    /// target gets it as usual (and the assertion will fail). Text that does not encode is
    /// left to the usual path too.
    fn checked_on_host(&mut self, module: &mut QuoteWat<'_>) -> Option<Judged> {
        if self.target.validates() {
            return None;
        }
        let bytes = encode(module).ok()?;
        host_validate(&bytes, self.features).is_err().then(|| Judged::skip(CHECKED_ON_HOST_REASON))
    }

    fn load(&mut self, module: &mut QuoteWat<'_>) -> Result<Result<ModuleId, ModuleRun>, Fatal> {
        let bytes = match encode(module) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(ModuleRun::EncodeFailed(e))),
        };
        Ok(split(self.target.load(&bytes))?.map_err(ModuleRun::Rejected))
    }

    fn instantiate_loaded(&mut self, module: ModuleId) -> Result<ModuleRun, Fatal> {
        Ok(match split(self.target.instantiate(module))? {
            Ok(Ok(instance)) => ModuleRun::Instantiated(instance),
            Ok(Err(trap)) => ModuleRun::Trapped(trap),
            Err(e) => match self.imports_unregistered(&e) {
                Some(out_of_scope) => ModuleRun::Unavailable(Unavailable {
                    why: e.to_string(),
                    out_of_scope: Some(out_of_scope),
                }),
                None => ModuleRun::NotInstantiated(e),
            },
        })
    }

    /// Why a link error is out of scope, if it names a module a `register` could not
    /// register for being out of scope itself.
    fn imports_unregistered(&self, error: &TargetError) -> Option<String> {
        let TargetError::Refused(Refusal::Link(message)) = error else { return None };
        let rest = message.strip_prefix("unknown import: ")?;
        self.unregistered.iter().find_map(|(name, why)| {
            rest.contains(&format!(" \"{name}\" "))
                .then(|| format!("imports from \"{name}\", not registered: {why}"))
        })
    }

    fn instantiate(&mut self, module: &mut QuoteWat<'_>) -> Result<ModuleRun, Fatal> {
        match self.load(module)? {
            Ok(id) => self.instantiate_loaded(id),
            Err(run) => Ok(run),
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Exec, Fatal> {
        let args: Vec<Val> = match invoke.args.iter().map(expect::arg).collect::<Result<_, _>>() {
            Ok(args) => args,
            Err(reason) => return Ok(Exec::Skip(reason)),
        };
        let instance = match self.instance(invoke.module) {
            Ok(i) => i,
            Err(u) => return Ok(Exec::Error(NotRun::unavailable(u, "instance"))),
        };
        Ok(match split(self.target.invoke(instance, invoke.name, &args))? {
            Ok(Ok(results)) => Exec::Returned(results),
            Ok(Err(trap)) => Exec::Trapped(trap),
            Err(e) => {
                Exec::Error(NotRun::refused(format!("invoking \"{}\": {e}", invoke.name), &e))
            }
        })
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Exec, Fatal> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = match self.instance(module) {
                    Ok(i) => i,
                    Err(u) => return Ok(Exec::Error(NotRun::unavailable(u, "instance"))),
                };
                Ok(match split(self.target.get_global(instance, global))? {
                    Ok(v) => Exec::Returned(vec![v]),
                    Err(e) => Exec::Error(NotRun::refused(
                        format!("reading global \"{global}\": {e}"),
                        &e,
                    )),
                })
            }
            WastExecute::Wat(Wat::Component(_)) => Ok(Exec::Skip(COMPONENT_REASON)),
            WastExecute::Wat(module) => {
                let mut module = QuoteWat::Wat(module);
                Ok(match self.instantiate(&mut module)? {
                    ModuleRun::Instantiated(_) => Exec::Instantiated,
                    ModuleRun::Trapped(trap) => Exec::Trapped(trap),
                    other => Exec::Error(NotRun {
                        text: other.to_string(),
                        observed: other.observed(),
                        out_of_scope: other.out_of_scope(),
                    }),
                })
            }
        }
    }
}
